package io.sluice.jobs;

import io.sluice.api.ApiException;
import io.sluice.config.PipelineConfig;
import io.sluice.processors.Processors;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Which pipeline an upload gets: the named one if it takes the type, else the first default that does. */
class PipelinesTest {

    static PipelineConfig pipeline(String name, boolean isDefault, String... types) {
        return new PipelineConfig(name, "noop", List.of(types), isDefault, Map.of(), 3, Duration.ofMinutes(1), 1,
                List.of());
    }

    final Pipelines pipelines = Pipelines.configure(List.of(
            pipeline("named-only", false),
            pipeline("csv", true, "text/csv"),
            pipeline("plain-only", true, "text/plain"),
            pipeline("texts", true, "text/plain+subtypes"),
            pipeline("images", true, "image/*"),
            pipeline("late-images", true, "image/png")), Processors.available());

    @Test
    void theFirstDefaultInFileOrderThatTakesTheTypeWins() {
        assertThat(pipelines.choose(null, "text/csv")).get().extracting(Pipelines.Pipeline::name).isEqualTo("csv");
        assertThat(pipelines.choose(null, "image/png")).get().extracting(Pipelines.Pipeline::name)
                .isEqualTo("images");
        // text/html is a text/plain in Tika's hierarchy: only the pipeline that opted in to subtypes takes it.
        assertThat(pipelines.choose(null, "text/html")).get().extracting(Pipelines.Pipeline::name)
                .isEqualTo("texts");
        assertThat(pipelines.choose(null, "text/plain")).get().extracting(Pipelines.Pipeline::name)
                .isEqualTo("plain-only");
        assertThat(pipelines.choose(null, "application/pdf")).isEmpty();
    }

    @Test
    void aNamedPipelineMustExistAndTakeTheType() {
        assertThat(pipelines.choose("named-only", "application/pdf")).get().extracting(Pipelines.Pipeline::name)
                .isEqualTo("named-only");
        assertThat(pipelines.choose("texts", "text/csv")).get().extracting(Pipelines.Pipeline::name)
                .isEqualTo("texts");
        assertThatThrownBy(() -> pipelines.choose("plain-only", "text/csv"))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.code())
                        .isEqualTo("pipeline_type_mismatch"));
        assertThatThrownBy(() -> pipelines.choose("csv", "image/png"))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.status()).isEqualTo(415);
                    assertThat(e.code()).isEqualTo("pipeline_type_mismatch");
                    assertThat(e.details()).containsEntry("acceptedTypes", List.of("text/csv"));
                });
        assertThatThrownBy(() -> pipelines.choose("nope", "text/csv"))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.status()).isEqualTo(400);
                    assertThat(e.code()).isEqualTo("unknown_pipeline");
                });
    }

    @Test
    void withoutPipelinesNothingIsChosenAndNamesAreRefused() {
        assertThat(Pipelines.none().choose(null, "text/plain")).isEmpty();
        assertThatThrownBy(() -> Pipelines.none().require("x")).isInstanceOf(ApiException.class)
                .hasMessageContaining("no pipelines are configured");
    }
}
