package io.sluice.ops;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.admission.AdmissionController;
import io.sluice.testing.Await;
import io.sluice.testing.HeldUpload;
import io.sluice.testing.Json;
import io.sluice.testing.SluiceServerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

/** Liveness, readiness, detailed status, the legacy upload-status shape and metrics, on one server. */
class HealthApiTest {

    @RegisterExtension
    static final SluiceServerExtension ts = SluiceServerExtension.with("admission.maxConcurrentUploads", "8",
            "admission.maxUploadsPerClient", "8", "server.maxConnections", "50");

    @Test
    void livenessIsUp() throws Exception {
        HttpResponse<String> r = ts.get("/health");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).get().asString().startsWith("application/json");
        assertThat(Json.parse(r.body())).isEqualTo(Json.parse("{\"status\":\"UP\"}"));
    }

    @Test
    void readinessIsAcceptingWithChecks() throws Exception {
        HttpResponse<String> r = ts.get("/health/ready");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = Json.parse(r.body());
        assertThat(body.path("status").asText()).isEqualTo("READY");
        assertThat(body.path("state").asText()).isEqualTo("ACCEPTING");
        assertThat(body.at("/checks/database").asText()).isEqualTo("UP");
        assertThat(body.at("/checks/storage").asText()).isEqualTo("UP");
        assertThat(body.has("reason")).isFalse();
        assertThat(ts.stagedFiles()).as("the storage probe cleans up after itself").isZero();
    }

    @Test
    void detailedReportsEverythingAnOperatorNeeds() throws Exception {
        HttpResponse<String> r = ts.get("/health/detailed");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode d = Json.parse(r.body());
        assertThat(d.path("status").asText()).isEqualTo("UP");
        assertThat(d.path("version").asText()).isNotBlank();
        assertThat(d.path("uptimeSeconds").isIntegralNumber()).isTrue();
        assertThat(d.path("uptimeSeconds").asLong()).isGreaterThanOrEqualTo(0);
        assertThat(d.path("state").asText()).isEqualTo("ACCEPTING");

        JsonNode m = d.path("memory");
        for (String f : List.of("heapUsed", "heapMax", "heapUsedAfterGc", "directUsed", "directMax", "rss",
                "cgroupLimit", "cgroupWorkingSet", "systemTotal", "systemAvailable")) {
            assertThat(m.path(f).isIntegralNumber()).as("memory.%s", f).isTrue();
        }
        assertThat(m.path("heapUsed").asLong()).isPositive();
        assertThat(m.path("heapMax").asLong()).isGreaterThanOrEqualTo(m.path("heapUsed").asLong());
        assertThat(m.path("directUsed").asLong()).isGreaterThanOrEqualTo(0);
        assertThat(m.path("rss").asLong()).as("Linux exposes VmRSS").isPositive();
        assertThat(m.path("systemAvailable").asLong()).isPositive();

        assertThat(d.at("/connections/open").asInt()).isGreaterThanOrEqualTo(1);
        assertThat(d.at("/connections/limit").asInt()).isEqualTo(50);
        assertThat(d.at("/uploads/active").asInt()).isZero();
        assertThat(d.at("/uploads/slots").asInt()).isEqualTo(8);
        assertThat(d.at("/uploads/slotsAvailable").asInt()).isEqualTo(8);
        assertThat(d.at("/uploads/buffers/size").asInt()).isPositive();
        assertThat(d.at("/disk/free").asLong()).isPositive();
        assertThat(d.at("/disk/reserve").asLong()).isZero();
        JsonNode config = d.path("config");
        assertThat(config.at("/admission/maxConcurrentUploads").asInt()).isEqualTo(8);
        assertThat(config.at("/server/maxConnections").asInt()).isEqualTo(50);
        assertThat(config.at("/limits/maxFileSize").asLong()).isPositive();
        assertThat(config.path("dataDir").asText()).isEqualTo(ts.dataDir().toString());
    }

    @Test
    void detailedCountsAnUploadInFlight() throws Exception {
        try (HeldUpload held = HeldUpload.start(ts.port(), null, "held.bin", HeldUpload.bytes(100_000, 1), 1000)) {
            Await.until(Duration.ofSeconds(10), "upload admitted",
                    () -> ts.app().admission().activeUploads() == 1);
            JsonNode d = Json.parse(ts.get("/health/detailed").body());
            assertThat(d.at("/uploads/active").asInt()).isEqualTo(1);
            assertThat(d.at("/uploads/slotsAvailable").asInt()).isEqualTo(7);
            assertThat(d.at("/uploads/buffers/inUse").asInt()).isEqualTo(AdmissionController.BUFFERS_PER_UPLOAD);
            JsonNode s = Json.parse(ts.get("/api/v1/system/upload-status").body());
            assertThat(s.at("/concurrency_manager/active_uploads").asInt()).isEqualTo(1);
            assertThat(s.at("/concurrency_manager/global_upload_slots_available").asInt()).isEqualTo(7);
            assertThat(held.finish().status()).isEqualTo(201);
        }
        ts.assertNothingLeftBehind();
    }

    @Test
    void uploadStatusHasExactlyTheLegacyShape() throws Exception {
        HttpResponse<String> r = ts.get("/api/v1/system/upload-status");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode s = Json.parse(r.body());
        assertThat(names(s)).containsExactlyInAnyOrder("concurrency_manager", "memory_monitor");
        JsonNode cm = s.path("concurrency_manager");
        assertThat(names(cm)).containsExactlyInAnyOrder("active_uploads", "global_upload_slots_available");
        assertThat(cm.path("active_uploads").isIntegralNumber()).isTrue();
        assertThat(cm.path("active_uploads").asInt()).isZero();
        assertThat(cm.path("global_upload_slots_available").asInt()).isEqualTo(8);
        assertThat(names(s.path("memory_monitor"))).containsExactly("current_usage");
        JsonNode usage = s.at("/memory_monitor/current_usage");
        assertThat(names(usage)).containsExactlyInAnyOrder("total_gb", "available_gb", "used_gb", "percent");
        for (String f : List.of("total_gb", "available_gb", "used_gb", "percent")) {
            assertThat(usage.path(f).isNumber()).as(f).isTrue();
        }
        double total = usage.path("total_gb").asDouble();
        double available = usage.path("available_gb").asDouble();
        double used = usage.path("used_gb").asDouble();
        assertThat(total).isPositive();
        assertThat(available).isBetween(0.0, total);
        assertThat(used).isBetween(0.0, total);
        assertThat(used + available).isCloseTo(total, offset(0.02));
        assertThat(usage.path("percent").asDouble()).isBetween(0.0, 100.0);
    }

    @Test
    void metricsArePrometheusText() throws Exception {
        HttpResponse<String> r = ts.get("/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).get().asString().startsWith("text/plain");
        assertThat(r.body()).contains("# TYPE sluice_uploads_active gauge")
                .containsPattern("(?m)^sluice_uploads_active(\\{[^}]*})? 0(\\.0)?$")
                .containsPattern("(?m)^jvm_memory_used_bytes\\{.*area=\"heap\".*} \\S+$")
                .contains("sluice_uploads_slots_available")
                .contains("sluice_connections_open")
                .contains("sluice_admission_refused_total");
    }

    @Test
    void healthIsNotSubjectToAdmission() throws Exception {
        // Health answers while every upload slot is taken.
        List<HeldUpload> held = new ArrayList<>();
        try {
            for (int i = 0; i < 8; i++) {
                held.add(HeldUpload.start(ts.port(), null, "h" + i + ".bin", HeldUpload.bytes(50_000, i), 100));
            }
            Await.until(Duration.ofSeconds(10), "all slots taken",
                    () -> ts.app().admission().activeUploads() == 8);
            assertThat(ts.get("/health").statusCode()).isEqualTo(200);
            assertThat(ts.get("/health/ready").statusCode()).isEqualTo(200);
            assertThat(Json.parse(ts.get("/api/v1/system/upload-status").body())
                    .at("/concurrency_manager/global_upload_slots_available").asInt()).isZero();
            for (HeldUpload h : held) {
                assertThat(h.finish().status()).isEqualTo(201);
            }
        } finally {
            for (HeldUpload h : held) {
                h.close();
            }
        }
        ts.assertNothingLeftBehind();
    }

    private static Set<String> names(JsonNode node) {
        Set<String> out = new LinkedHashSet<>();
        node.fieldNames().forEachRemaining(out::add);
        return out;
    }
}
