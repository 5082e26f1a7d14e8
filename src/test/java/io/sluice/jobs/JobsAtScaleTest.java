package io.sluice.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.JobRows;
import io.sluice.testing.Json;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The jobs list at scale over real HTTP: filters (state, pipeline, search, time), keyset pages across equal
 * timestamps, per-state counts, bulk retry / cancel with per-id results, tenancy, every bad input refused with
 * nothing changed, and the page query's plan at 10,000 jobs. Jobs that only need to be listed are written straight
 * into the database ({@link JobRows}); jobs that are acted on run for real.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class JobsAtScaleTest {

    static final Duration WAIT = Duration.ofSeconds(20);
    static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");

    @TempDir
    static Path dir;
    static TestServer server;
    static JobRows rows;

    @BeforeAll
    static void start() throws Exception {
        Path config = Files.writeString(dir.resolve("sluice.yaml"), """
                jobs:
                  pollInterval: 50ms
                  leaseDuration: 3s
                pipelines:
                  noop:
                    processor: noop
                    default: true
                  broken:
                    processor: test-sleep
                    options: {lines: 5, failAtLine: 2}
                    maxAttempts: 1
                  slow:
                    processor: test-sleep
                    options: {lines: 400, delayMillis: 50}
                """);
        server = TestServer.start(dir.resolve("data"), config);
        rows = new JobRows(server);
    }

    @AfterAll
    static void stop() {
        if (rows != null) {
            rows.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @Test
    void filtersSearchTimeAndKeysetPagesAcrossEqualTimestamps() throws Exception {
        List<JobRows.Row> same = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            // Seven jobs created in the same millisecond: the keyset on id must neither repeat nor skip one.
            same.add(rows.row("Report-" + i + ".CSV", "scale-a", i % 2 == 0 ? "succeeded" : "failed", T0));
        }
        JobRows.Row early = rows.row("early_100%.txt", "scale-b", "cancelled", T0.minusSeconds(3600));
        JobRows.Row late = rows.row("late.txt", "scale-b", "succeeded", T0.plusSeconds(3600));
        List<JobRows.Row> all = new ArrayList<>(same);
        all.add(early);
        all.add(late);
        rows.insert(all);

        List<String> seen = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            JsonNode page = ok("/api/v1/jobs?pipeline=scale-a&limit=3" + (cursor == null ? "" : "&cursor=" + cursor));
            page.path("jobs").forEach(j -> seen.add(j.path("id").asText()));
            cursor = page.path("nextCursor").isNull() ? null : page.path("nextCursor").asText();
            pages++;
        } while (cursor != null && pages < 10);
        assertThat(pages).isEqualTo(3);
        assertThat(seen).containsExactlyElementsOf(same.stream().map(JobRows.Row::id).sorted(
                java.util.Comparator.reverseOrder()).toList());

        assertThat(ids("/api/v1/jobs?pipeline=scale-a&state=failed")).containsExactlyInAnyOrder(
                same.get(1).id(), same.get(3).id(), same.get(5).id());
        // Search: a piece of the name, any case; LIKE's wildcards are taken literally; exact job or upload id.
        assertThat(ids("/api/v1/jobs?q=report-3.c")).containsExactly(same.get(3).id());
        assertThat(ids("/api/v1/jobs?q=" + enc("_100%"))).containsExactly(early.id());
        assertThat(ids("/api/v1/jobs?q=%25")).containsExactly(early.id());
        assertThat(ids("/api/v1/jobs?q=" + late.id())).containsExactly(late.id());
        assertThat(ids("/api/v1/jobs?q=" + late.uploadId())).containsExactly(late.id());
        assertThat(ids("/api/v1/jobs?q=nothing-like-this")).isEmpty();
        // Time: since inclusive, until exclusive.
        assertThat(ids("/api/v1/jobs?pipeline=scale-b&since=" + enc(T0.toString()))).containsExactly(late.id());
        assertThat(ids("/api/v1/jobs?pipeline=scale-b&until=" + enc(T0.toString()))).containsExactly(early.id());
        assertThat(ids("/api/v1/jobs?pipeline=scale-a&since=" + enc(T0.toString()) + "&until="
                + enc(T0.plusMillis(1).toString()))).hasSize(7);
        assertThat(ids("/api/v1/jobs?since=" + enc("2026-03-01T11:00:00+01:00") + "&until="
                + enc("2026-03-01T11:00:00.001+01:00"))).hasSize(7);

        JsonNode counts = ok("/api/v1/jobs/counts?pipeline=scale-a");
        assertThat(counts.at("/counts/succeeded").asLong()).isEqualTo(4);
        assertThat(counts.at("/counts/failed").asLong()).isEqualTo(3);
        assertThat(counts.at("/counts/queued").asLong()).isZero();
        assertThat(counts.at("/counts/running").asLong()).isZero();
        assertThat(counts.at("/counts/cancelled").asLong()).isZero();
        assertThat(counts.path("total").asLong()).isEqualTo(7);
        assertThat(ok("/api/v1/jobs/counts?q=report&state=failed").path("total").asLong()).isEqualTo(3);
        assertThat(ok("/api/v1/jobs/counts?pipeline=scale-b&until=" + enc(T0.toString())).at("/counts/cancelled")
                .asLong()).isEqualTo(1);
    }

    @Test
    void everyBadFilterIsRefusedByTheListAndTheCounts() throws Exception {
        for (String base : List.of("/api/v1/jobs", "/api/v1/jobs/counts")) {
            refused(base + "?state=done", 400, "invalid_state");
            refused(base + "?q=" + "x".repeat(201), 400, "invalid_query");
            refused(base + "?since=yesterday", 400, "invalid_time");
            refused(base + "?until=2026-13-01T00:00:00Z", 400, "invalid_time");
            refused(base + "?since=2026-01-01", 400, "invalid_time");
            refused(base + "?since=" + enc("2026-01-02T00:00:00Z") + "&until=" + enc("2026-01-01T00:00:00Z"), 400,
                    "invalid_time_range");
            refused(base + "?since=" + enc("2026-01-01T00:00:00Z") + "&until=" + enc("2026-01-01T00:00:00Z"), 400,
                    "invalid_time_range");
        }
        refused("/api/v1/jobs?cursor=nope", 400, "invalid_cursor");
        refused("/api/v1/jobs?limit=501", 400, "invalid_limit");
    }

    @Test
    void bulkRetryAndCancelAnswerPerIdAndChangeOnlyWhatTheyMay() throws Exception {
        String failed = upload("f.txt", "broken");
        awaitState(failed, "failed");
        JsonNode failedJob = job(failed);
        // The stage it failed in is kept; attempts are the number of the last attempt and the ceiling.
        assertThat(failedJob.path("stage").asText()).isEqualTo("writing");
        assertThat(failedJob.at("/error/code").asText()).isEqualTo("test_failure");
        assertThat(failedJob.path("attempt").asInt()).isEqualTo(1);
        assertThat(failedJob.path("maxAttempts").asInt()).isEqualTo(1);
        String succeeded = upload("s.txt", "noop");
        awaitState(succeeded, "succeeded");
        String unknown = rows.newId();

        JsonNode out = bulk("{\"action\":\"retry\",\"ids\":[\"%s\",\"%s\",\"%s\",\"not-an-id\",\"%s\"]}"
                .formatted(failed, succeeded, unknown, failed));
        assertThat(out.path("action").asText()).isEqualTo("retry");
        assertThat(out.path("succeeded").asInt()).isEqualTo(1);
        assertThat(out.path("failed").asInt()).isEqualTo(3);
        JsonNode results = out.path("results");
        assertThat(results).hasSize(4); // the repeated id counts once
        assertThat(results.get(0).path("id").asText()).isEqualTo(failed);
        assertThat(results.get(0).path("status").asInt()).isEqualTo(202);
        assertThat(results.get(0).at("/job/state").asText()).isEqualTo("queued");
        assertThat(results.get(1).path("status").asInt()).isEqualTo(409);
        assertThat(results.get(1).at("/error/code").asText()).isEqualTo("job_not_retryable");
        assertThat(results.get(1).has("job")).isFalse();
        assertThat(results.get(2).path("status").asInt()).isEqualTo(404);
        assertThat(results.get(2).at("/error/code").asText()).isEqualTo("not_found");
        assertThat(results.get(3).path("status").asInt()).isEqualTo(404);
        // The retried job ran again (and failed again, at the same stage); the succeeded one is untouched.
        Await.until(WAIT, "second attempt", () -> job(failed).path("attempt").asInt() == 2
                && "failed".equals(job(failed).path("state").asText()));
        assertThat(job(succeeded).path("attempt").asInt()).isEqualTo(1);

        String slow = upload("slow.txt", "slow");
        awaitState(slow, "running");
        JsonNode cancel = bulk("{\"action\":\"cancel\",\"ids\":[\"%s\",\"%s\"]}".formatted(slow, succeeded));
        assertThat(cancel.at("/results/0/status").asInt()).isEqualTo(202);
        assertThat(cancel.at("/results/0/job/state").asText()).isEqualTo("running");
        assertThat(cancel.at("/results/0/job/cancelRequested").asBoolean()).isTrue();
        assertThat(cancel.at("/results/1/status").asInt()).isEqualTo(409);
        assertThat(cancel.at("/results/1/error/code").asText()).isEqualTo("job_finished");
        awaitState(slow, "cancelled");
        assertThat(job(slow).has("cancelRequested")).as("only while pending").isFalse();
        server.assertNothingLeftBehind();
    }

    @Test
    void badBulkRequestsAreRefusedWholeAndChangeNothing() throws Exception {
        String failed = upload("g.txt", "broken");
        awaitState(failed, "failed");
        String ok = "\"" + failed + "\"";
        StringBuilder tooMany = new StringBuilder();
        for (int i = 0; i <= JobsApi.MAX_BULK_IDS; i++) {
            tooMany.append(i == 0 ? "" : ",").append(ok);
        }
        List<String[]> cases = List.of(
                new String[] {"not json", "invalid_json"},
                new String[] {"[\"retry\"]", "invalid_json"},
                new String[] {"", "invalid_json"},
                new String[] {"{\"action\":\"delete\",\"ids\":[" + ok + "]}", "invalid_action"},
                new String[] {"{\"action\":1,\"ids\":[" + ok + "]}", "invalid_action"},
                new String[] {"{\"ids\":[" + ok + "]}", "invalid_action"},
                new String[] {"{\"action\":\"retry\"}", "invalid_ids"},
                new String[] {"{\"action\":\"retry\",\"ids\":[]}", "invalid_ids"},
                new String[] {"{\"action\":\"retry\",\"ids\":" + ok + "}", "invalid_ids"},
                new String[] {"{\"action\":\"retry\",\"ids\":[" + ok + ",7]}", "invalid_ids"},
                new String[] {"{\"action\":\"retry\",\"ids\":[" + tooMany + "]}", "invalid_ids"});
        for (String[] c : cases) {
            HttpResponse<String> r = postJson("/api/v1/jobs/bulk", c[0]);
            assertThat(r.statusCode()).as(c[0].length() > 80 ? c[0].substring(0, 80) : c[0]).isEqualTo(400);
            assertThat(Json.errorCode(r.body())).as(r.body()).isEqualTo(c[1]);
            // A valid id before the bad one was not retried.
            JsonNode j = job(failed);
            assertThat(j.path("state").asText()).isEqualTo("failed");
            assertThat(j.path("attempt").asInt()).isEqualTo(1);
        }
        HttpResponse<String> big = postJson("/api/v1/jobs/bulk", "{\"action\":\"retry\",\"ids\":[\""
                + "x".repeat(JobsApi.MAX_BULK_BODY) + "\"]}");
        assertThat(big.statusCode()).isEqualTo(413);
        assertThat(Json.errorCode(big.body())).isEqualTo("request_too_large");
        assertThat(job(failed).path("state").asText()).isEqualTo("failed");
        server.assertNothingLeftBehind();
    }

    @Test
    void outputDownloadsWholeUnderAFileName() throws Exception {
        String id = upload("o.txt", "noop");
        awaitState(id, "succeeded");
        HttpResponse<String> r = server.get("/api/v1/jobs/" + id + "/output");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Disposition")).hasValue("attachment; filename=\"job-" + id
                + ".ndjson\"");
    }

    /**
     * A non-admin key lists, counts and acts on only its own jobs: another key's job is not in its list or counts,
     * and a bulk action on it answers 404 for that id and leaves it as it was. An admin sees and counts all.
     */
    @Test
    void aKeySeesCountsAndActsOnOnlyItsOwnJobs(@TempDir Path keyed) throws Exception {
        try (TestServer s = TestServer.start(keyed.resolve("data"));
             JobRows r = new JobRows(s)) {
            String admin = createKey(s, null, "{\"name\":\"ops\",\"admin\":true}").path("key").asText();
            JsonNode aliceKey = createKey(s, admin, "{\"name\":\"alice\"}");
            JsonNode bobKey = createKey(s, admin, "{\"name\":\"bob\"}");
            String alice = aliceKey.path("key").asText();
            String bob = bobKey.path("key").asText();
            // A record's owner is its key's id.
            String aliceOwner = aliceKey.path("id").asText();
            String bobOwner = bobKey.path("id").asText();
            JobRows.Row a1 = owned(r.row("alice-1.txt", "t", "failed", T0), aliceOwner);
            JobRows.Row a2 = owned(r.row("alice-2.txt", "t", "succeeded", T0), aliceOwner);
            JobRows.Row b1 = owned(r.row("bob-1.txt", "t", "failed", T0), bobOwner);
            r.insert(List.of(a1, a2, b1));

            JsonNode aliceList = Json.parse(send(s, "GET", "/api/v1/jobs?q=txt", alice, null).body());
            List<String> seen = new ArrayList<>();
            aliceList.path("jobs").forEach(j -> seen.add(j.path("id").asText()));
            assertThat(seen).containsExactlyInAnyOrder(a1.id(), a2.id());
            assertThat(Json.parse(send(s, "GET", "/api/v1/jobs?q=" + b1.id(), alice, null).body()).path("jobs"))
                    .isEmpty();
            JsonNode aliceCounts = Json.parse(send(s, "GET", "/api/v1/jobs/counts", alice, null).body());
            assertThat(aliceCounts.path("total").asLong()).isEqualTo(2);
            assertThat(aliceCounts.at("/counts/failed").asLong()).isEqualTo(1);
            assertThat(Json.parse(send(s, "GET", "/api/v1/jobs/counts", admin, null).body()).path("total")
                    .asLong()).isEqualTo(3);
            assertThat(Json.parse(send(s, "GET", "/api/v1/jobs/counts", bob, null).body()).path("total")
                    .asLong()).isEqualTo(1);

            // Pipeline "t" is not configured here, so alice's own failed job is refused as not retryable (409):
            // the point is that bob's is not even found (404), and stays failed.
            HttpResponse<String> bulk = send(s, "POST", "/api/v1/jobs/bulk", alice,
                    "{\"action\":\"retry\",\"ids\":[\"%s\",\"%s\"]}".formatted(a1.id(), b1.id()));
            assertThat(bulk.statusCode()).as(bulk.body()).isEqualTo(200);
            JsonNode results = Json.parse(bulk.body()).path("results");
            assertThat(results.get(0).path("status").asInt()).isEqualTo(409);
            assertThat(results.get(0).at("/error/code").asText()).isEqualTo("job_not_retryable");
            assertThat(results.get(1).path("status").asInt()).isEqualTo(404);
            assertThat(results.get(1).at("/error/code").asText()).isEqualTo("not_found");
            HttpResponse<String> cancelBob = send(s, "POST", "/api/v1/jobs/bulk", alice,
                    "{\"action\":\"cancel\",\"ids\":[\"%s\"]}".formatted(b1.id()));
            assertThat(Json.parse(cancelBob.body()).at("/results/0/status").asInt()).isEqualTo(404);
            assertThat(Json.parse(send(s, "GET", "/api/v1/jobs/" + b1.id(), bob, null).body()).path("state")
                    .asText()).isEqualTo("failed");
            HttpResponse<String> anonymous = send(s, "GET", "/api/v1/jobs/counts", null, null);
            assertThat(anonymous.statusCode()).isEqualTo(401);
            assertThat(Json.errorCode(anonymous.body())).isEqualTo("unauthorized");
        }
    }

    static JobRows.Row owned(JobRows.Row r, String owner) {
        return new JobRows.Row(r.id(), r.uploadId(), r.fileName(), r.pipeline(), r.state(), r.attempt(),
                r.maxAttempts(), r.stage(), r.errorCode(), r.errorMessage(), r.createdAt(), owner);
    }

    static JsonNode createKey(TestServer s, String adminKey, String json) throws Exception {
        HttpResponse<String> r = send(s, "POST", "/api/v1/keys", adminKey, json);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return Json.parse(r.body());
    }

    static HttpResponse<String> send(TestServer s, String method, String path, String key, String json)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(s.uri(path)).method(method, json == null
                ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        if (json != null) {
            b.header("Content-Type", "application/json");
        }
        return s.send(b.build());
    }

    /** 10,000 jobs: each page query walks an index in id order (no sort of the whole table, no table scan). */
    @Test
    void aPageQueryAt10000JobsUsesAnIndex() throws Exception {
        Assumptionless.requireSqlite(server);
        List<JobRows.Row> many = new ArrayList<>();
        String[] states = {"succeeded", "failed", "cancelled"};
        for (int i = 0; i < 10_000; i++) {
            many.add(rows.row(null, "plan-" + (i % 4), states[i % 3], T0.plusSeconds(864_000).plusMillis(i)));
        }
        rows.insert(many);
        String cursor = many.get(5000).id();
        List<JobFilter> filters = List.of(JobFilter.ALL, JobFilter.ALL.withState(JobState.FAILED),
                new JobFilter(null, "plan-1", null, null, null, null),
                new JobFilter(JobState.FAILED, "plan-1", null, null, null, null),
                new JobFilter(null, null, "some-key", null, null, null),
                new JobFilter(null, null, null, null, T0, T0.plusSeconds(5)));
        for (JobFilter f : filters) {
            for (String c : java.util.Arrays.asList(null, cursor)) {
                String plan = plan(f, c);
                assertThat(plan).as(f + " cursor " + c).doesNotContain("USE TEMP B-TREE").doesNotContainPattern(
                        "SCAN jobs$|SCAN jobs\n");
                assertThat(plan).as(f + " cursor " + c).containsPattern("USING (COVERING )?INDEX|USING INTEGER "
                        + "PRIMARY KEY|USING PRIMARY KEY|sqlite_autoindex_jobs_1");
            }
        }
        // A search reads the matching uploads' jobs through jobs_upload and sorts only those, never all jobs.
        String search = plan(new JobFilter(null, null, null, "report", null, null), null);
        assertThat(search).contains("USING INDEX jobs_upload (upload_id=?)").doesNotContainPattern("SCAN jobs(\n|$)");
        String counts = rows.read(cx -> explain(cx, "SELECT state, COUNT(*) FROM jobs GROUP BY state", List.of()));
        assertThat(counts).contains("COVERING INDEX").doesNotContain("TEMP B-TREE");
        // And the answers are right at that size.
        assertThat(ok("/api/v1/jobs/counts?pipeline=plan-1").path("total").asLong()).isEqualTo(2500);
        assertThat(ok("/api/v1/jobs?pipeline=plan-1&state=failed&limit=500").path("jobs")).hasSize(500);
    }

    // ------------------------------------------------------------------------------------------ helpers

    /** Query plans are SQLite's words; the PostgreSQL run checks behaviour only. */
    static final class Assumptionless {
        static void requireSqlite(TestServer s) {
            org.junit.jupiter.api.Assumptions.assumeFalse(Boolean.getBoolean("sluice.test.postgres"),
                    "SKIPPED: EXPLAIN QUERY PLAN is SQLite's; this run is on PostgreSQL");
        }
    }

    static String plan(JobFilter f, String cursor) throws Exception {
        List<Object> args = new ArrayList<>();
        String sql = JobListing.listStatement(f, cursor, args);
        args.add(50L);
        return rows.read(c -> explain(c, sql, args));
    }

    static String explain(java.sql.Connection c, String sql, List<Object> args) throws java.sql.SQLException {
        try (PreparedStatement ps = c.prepareStatement("EXPLAIN QUERY PLAN " + sql)) {
            for (int i = 0; i < args.size(); i++) {
                ps.setObject(i + 1, args.get(i));
            }
            StringBuilder out = new StringBuilder();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.append(rs.getString("detail")).append('\n');
                }
            }
            return out.toString();
        }
    }

    static String upload(String name, String pipeline) throws Exception {
        HttpResponse<String> r = server.put("/api/v1/uploads/" + name + "?pipeline=" + pipeline,
                ("content of " + name + "\n").getBytes(StandardCharsets.UTF_8));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return Json.parse(r.body()).at("/uploads/0/job/id").asText();
    }

    static JsonNode job(String id) throws Exception {
        return ok("/api/v1/jobs/" + id);
    }

    static void awaitState(String id, String state) throws Exception {
        Await.until(WAIT, "job " + id + " " + state, () -> state.equals(job(id).path("state").asText()));
    }

    static JsonNode ok(String path) throws Exception {
        HttpResponse<String> r = server.get(path);
        assertThat(r.statusCode()).as(path + " " + r.body()).isEqualTo(200);
        return Json.parse(r.body());
    }

    static List<String> ids(String path) throws Exception {
        List<String> out = new ArrayList<>();
        ok(path + (path.contains("?") ? "&" : "?") + "limit=500").path("jobs").forEach(j -> out.add(j.path("id")
                .asText()));
        return out;
    }

    static void refused(String path, int status, String code) throws Exception {
        HttpResponse<String> r = server.get(path);
        assertThat(r.statusCode()).as(path + " " + r.body()).isEqualTo(status);
        assertThat(Json.errorCode(r.body())).as(path).isEqualTo(code);
    }

    static JsonNode bulk(String json) throws Exception {
        HttpResponse<String> r = postJson("/api/v1/jobs/bulk", json);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return Json.parse(r.body());
    }

    static HttpResponse<String> postJson(String path, String json) throws Exception {
        return server.send(HttpRequest.newBuilder(server.uri(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build());
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
