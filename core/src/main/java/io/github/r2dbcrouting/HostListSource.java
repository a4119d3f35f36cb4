package io.github.r2dbcrouting;

import java.util.ArrayList;
import java.util.List;

import io.r2dbc.spi.ConnectionFactoryMetadata;
import reactor.core.publisher.Flux;

/** {@link TopologySource#hosts}: one membership, never changing. */
final class HostListSource implements TopologySource {

    private final List<TopologyMember> members;

    HostListSource(List<TopologyMember> members) {
        this.members = List.copyOf(members);
    }

    @Override
    public Flux<List<TopologyMember>> members() {
        return Flux.just(this.members);
    }

    @Override
    public ConnectionFactoryMetadata metadata() {
        return this.members.get(0).factory().getMetadata();
    }

    @Override
    public String toString() {
        List<String> names = new ArrayList<>();
        this.members.forEach(member -> names.add(member.name()));
        return "hosts " + names;
    }
}
