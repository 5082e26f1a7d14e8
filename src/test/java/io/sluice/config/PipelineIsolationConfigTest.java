package io.sluice.config;

import io.sluice.jobs.Pipelines;
import io.sluice.processors.Processors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The {@code isolate} and {@code memory} keys of a pipeline. */
class PipelineIsolationConfigTest {

    @TempDir
    Path dir;

    SluiceConfig load(String yaml) throws Exception {
        Path file = Files.writeString(dir.resolve("sluice.yaml"), yaml);
        return ConfigLoader.load(file, Map.of(), Map.of());
    }

    @Test
    void isolateAndMemoryAreReadAndDefaultToTheProcessorsChoiceAnd256MiB() throws Exception {
        SluiceConfig c = load("""
                pipelines:
                  a: {processor: noop, isolate: true, memory: 64MiB}
                  b: {processor: noop, isolate: false}
                  c: {processor: pdf}
                """);
        assertThat(c.pipelines().get(0).isolate()).isTrue();
        assertThat(c.pipelines().get(0).memory()).isEqualTo(64L << 20);
        assertThat(c.pipelines().get(1).isolate()).isFalse();
        assertThat(c.pipelines().get(2).isolate()).isNull();
        assertThat(c.pipelines().get(2).memory()).isEqualTo(PipelineConfig.DEFAULT_MEMORY).isEqualTo(256L << 20);

        // The pipeline's word wins; without one, the processor's isolatedByDefault() (pdf: yes, noop: no).
        Pipelines pipelines = Pipelines.configure(c.pipelines(), Processors.available());
        assertThat(pipelines.find("a").orElseThrow().isolated()).isTrue();
        assertThat(pipelines.find("b").orElseThrow().isolated()).isFalse();
        assertThat(pipelines.find("c").orElseThrow().isolated()).isTrue();
    }

    @Test
    void badValuesAreRefusedByKey() {
        assertThatThrownBy(() -> load("pipelines: {a: {processor: noop, isolate: maybe}}"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("pipelines.a.isolate");
        assertThatThrownBy(() -> load("pipelines: {a: {processor: noop, memory: 1MiB}}"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("pipelines.a.memory");
        assertThatThrownBy(() -> load("pipelines: {a: {processor: noop, memroy: 1GiB}}"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("did you mean memory");
    }
}
