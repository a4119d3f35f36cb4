package io.github.r2dbcrouting.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.ContainerNetwork;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;

/**
 * The {@link PostgresClusterContract} in containers through Testcontainers, plus what only they
 * have. Skipped (reported as such) when no container engine answers; the image comes from
 * {@value PostgresCluster#IMAGE_PROPERTY} / {@value PostgresCluster#IMAGE_ENV} (CI:
 * {@code localhost/r2dbc-routing/postgres:15}, see {@code .ci/containers/README.md}).
 */
class ContainerPostgresClusterIntegrationTests extends PostgresClusterContract {

    @Override
    @Nullable String unavailable() {
        String problem = BackendSelection.engineProblem();
        return problem == null ? null : "no container engine: " + problem;
    }

    @Override
    Backend backend() {
        return Backend.CONTAINERS;
    }

    @Override
    String expectedHost() {
        String host = DockerClientFactory.instance().dockerHostIpAddress();
        return ContainerEngine.isLoopback(host) ? "127.0.0.1" : host;
    }

    @Override
    Runnable goneAfterKill(PostgresNode node) {
        String id = containerOf(node);
        assertEquals(node.pid(), inspect(id).getState().getPidLong());
        return () -> {
            InspectContainerResponse.ContainerState state = inspect(id).getState();
            assertFalse(Boolean.TRUE.equals(state.getRunning()), "container " + id + " still runs");
            assertEquals("exited", state.getStatus());
        };
    }

    @Override
    Runnable nothingLeftAfterClose(PostgresCluster cluster) {
        ContainerCluster containers = (ContainerCluster) cluster.started();
        List<String> ids = containers.containerIds();
        String networkId = containers.networkId();
        String clusterId = containers.id();
        assertEquals(cluster.nodes().size(), ids.size());
        return () -> {
            for (String id : ids) {
                assertThrows(NotFoundException.class, () -> inspect(id), "container " + id + " left");
            }
            assertThrows(NotFoundException.class, () -> docker().inspectNetworkCmd().withNetworkId(networkId).exec(),
                    "network " + networkId + " left");
            assertEquals(List.of(), docker().listContainersCmd()
                .withShowAll(true)
                .withLabelFilter(Map.of(ContainerCluster.CLUSTER_LABEL, clusterId))
                .exec());
        };
    }

    @Test
    void shouldRunEachNodeInALabelledContainerOnTheClustersNetwork() {
        ContainerCluster containers = (ContainerCluster) shared().started();
        for (PostgresNode node : shared().nodes()) {
            InspectContainerResponse container = inspect(containerOf(node));
            Map<String, String> labels = container.getConfig().getLabels();
            assertEquals(containers.id(), labels.get(ContainerCluster.CLUSTER_LABEL));
            assertEquals(node.name(), labels.get(ContainerCluster.NODE_LABEL));
            assertEquals("true", labels.get(DockerClientFactory.TESTCONTAINERS_LABEL));
            // keyed by network name; podman puts the name where Docker puts the id in NetworkID
            ContainerNetwork network = container.getNetworkSettings().getNetworks()
                .get("r2dbc-routing-testkit-" + containers.id());
            assertTrue(network != null && network.getAliases() != null && network.getAliases().contains(node.name()),
                    container.getNetworkSettings().getNetworks().toString());
        }
        assertEquals(containers.id(), docker().inspectNetworkCmd().withNetworkId(containers.networkId()).exec()
            .getLabels().get(ContainerCluster.CLUSTER_LABEL));
        IllegalStateException noDirectory = assertThrows(IllegalStateException.class, shared()::directory);
        assertEquals("a cluster of the CONTAINERS backend has no directory; its data lives in its containers",
                noDirectory.getMessage());
    }

    private static String containerOf(PostgresNode node) {
        return ((ContainerNode) node.operations()).containerId();
    }

    private static InspectContainerResponse inspect(String id) {
        return docker().inspectContainerCmd(id).exec();
    }

    private static DockerClient docker() {
        return DockerClientFactory.instance().client();
    }

}
