package io.github.r2dbcrouting.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/** The {@link PostgresClusterContract} against local PostgreSQL binaries, plus what only they have. */
class LocalPostgresClusterIntegrationTests extends PostgresClusterContract {

	@Override
	@Nullable String unavailable() {
		String problem = BackendSelection.localProblem();
		return problem == null ? null : "no local PostgreSQL binaries: " + problem;
	}

	@Override
	Backend backend() {
		return Backend.LOCAL;
	}

	@Override
	String expectedHost() {
		return "127.0.0.1";
	}

	@Override
	Runnable goneAfterKill(PostgresNode node) {
		List<Long> processes = PgProcess.tree(node.pid());
		assertTrue(processes.size() > 1, "a postmaster has children: " + processes);
		return () -> assertTrue(processes.stream().noneMatch(PgProcess::isAlive), "processes left: " + processes);
	}

	@Override
	Runnable nothingLeftAfterClose(PostgresCluster cluster) {
		Path dir = cluster.directory();
		assertTrue(dir.getFileName().toString().startsWith("r2dbc-routing-testkit-"), dir.toString());
		List<Long> processes = cluster.nodes().stream().flatMap(n -> PgProcess.tree(n.pid()).stream()).toList();
		return () -> {
			assertTrue(processes.stream().noneMatch(PgProcess::isAlive), "processes left: " + processes);
			assertFalse(Files.exists(dir), dir + " still exists");
		};
	}

	@Test
	void shouldReapClusterOfDeadJvm() throws Exception {
		try (PostgresCluster cluster = start(0)) {
			Path dir = cluster.directory();
			List<Long> processes = PgProcess.tree(cluster.primary().pid());
			Process exited = new ProcessBuilder("true").start();
			exited.waitFor();
			Files.writeString(dir.resolve(StaleClusterReaper.OWNER_FILE), Long.toString(exited.pid()));
			StaleClusterReaper.reap(dir.getParent());
			assertTrue(processes.stream().noneMatch(PgProcess::isAlive), "processes left: " + processes);
			assertFalse(Files.exists(dir), dir + " still exists");
		} // closing a cluster whose node and directory are gone must not throw
	}

	@Test
	void shouldChooseLocalBinariesWhenNothingForcesABackend() {
		assertEquals(Backend.LOCAL, BackendSelection.select(Backend.AUTO, null, null, BackendSelection::localProblem,
				() -> {
					throw new AssertionError("the container engine must not be asked while local binaries exist");
				}));
	}

}
