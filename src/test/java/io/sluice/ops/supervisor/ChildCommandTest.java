package io.sluice.ops.supervisor;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Which of the supervisor's JVM options its child inherits. */
class ChildCommandTest {

    @Test
    void aCollectorGivenAsAnExtraOptionReplacesTheInheritedOne() {
        // The launcher starts the supervisor with G1; two collectors would make the child JVM refuse to start.
        assertThat(ChildCommand.inheritable("-XX:+UseG1GC", List.of("-XX:+UseSerialGC"))).isFalse();
        assertThat(ChildCommand.inheritable("-XX:+UseG1GC", List.of("-Xmx1g"))).isTrue();
        assertThat(ChildCommand.inheritable("-XX:G1PeriodicGCInterval=5000", List.of("-XX:+UseSerialGC"))).isTrue();
        assertThat(ChildCommand.inheritable("-Xmx512m", List.of("-XX:+UseSerialGC"))).isTrue();
    }

    @Test
    void debuggerAndSupervisorPidAreNotInherited() {
        assertThat(ChildCommand.inheritable("-agentlib:jdwp=transport=dt_socket,server=y", List.of())).isFalse();
        assertThat(ChildCommand.inheritable("-D" + ChildCommand.SUPERVISOR_PID_PROPERTY + "=12", List.of())).isFalse();
        assertThat(ChildCommand.inheritable("-XX:AOTCache=/opt/sluice/target/sluice.aot", List.of())).isTrue();
    }
}
