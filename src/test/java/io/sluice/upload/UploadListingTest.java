package io.sluice.upload;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Json;
import io.sluice.testing.SluiceServerExtension;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;

import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code GET /api/v1/uploads} search, filter and sort over real HTTP, {@code GET /api/v1/limits} and
 * {@code GET /api/v1/resumable}: keyset pages that neither repeat nor skip rows with equal sort values and equal
 * creation times, tenancy (key B never sees key A's uploads), and 400 with a code for each bad parameter.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UploadListingTest {

    @RegisterExtension
    static final SluiceServerExtension server = SluiceServerExtension.with().config("""
                    jobs:
                      pollInterval: 50ms
                    pipelines:
                      noop:
                        processor: noop
                    """);
    static String admin;
    static Key a;
    static Key b;
    /** Rows inserted directly for key A: same creation millisecond, names and sizes in tied groups. */
    static final int TIED = 23;

    record Key(String id, String secret) {
    }

    record Row(String id, String filename, long size, String type) {
    }

    static final List<Row> aRows = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        admin = createKey(null, "{\"name\":\"ops\",\"admin\":true}").secret();
        a = createKey(admin, "{\"name\":\"tenant-a\",\"maxFileSize\":5000,\"quota\":100000}");
        b = createKey(admin, "{\"name\":\"tenant-b\"}");
        IdGenerator ids = new IdGenerator(java.time.Clock.systemUTC());
        long now = System.currentTimeMillis();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + server.dataDir().resolve("sluice.db"))) {
            c.createStatement().execute("PRAGMA busy_timeout = 10000");
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO uploads (id, filename, size, sha256, "
                    + "content_type, storage_key, created_at, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
                for (int i = 0; i < TIED; i++) {
                    // Names and sizes repeat in groups of 3 and 4; every row has the same created_at.
                    Row r = new Row(ids.next(), "Tied_" + (char) ('a' + i % 3) + "%.txt", 100 + i % 4,
                            i % 2 == 0 ? "text/plain" : "image/png");
                    aRows.add(r);
                    ps.setString(1, r.id());
                    ps.setString(2, r.filename());
                    ps.setLong(3, r.size());
                    ps.setString(4, "0".repeat(64));
                    ps.setString(5, r.type());
                    ps.setString(6, "missing/" + r.id());
                    ps.setLong(7, now);
                    ps.setString(8, a.id());
                    ps.executeUpdate();
                }
            }
        }
    }

    @Test
    void everySortPagesThroughTiesWithoutRepeatsOrGaps() throws Exception {
        Comparator<Row> byId = Comparator.comparing(Row::id);
        record Case(String sort, Comparator<Row> order) {
        }
        for (Case c : List.of(
                new Case("-created", byId.reversed()),
                new Case("created", byId),
                new Case("name", Comparator.comparing(Row::filename).thenComparing(byId)),
                new Case("-name", Comparator.comparing(Row::filename).thenComparing(byId).reversed()),
                new Case("size", Comparator.comparingLong(Row::size).thenComparing(byId)),
                new Case("-size", Comparator.comparingLong(Row::size).thenComparing(byId).reversed()))) {
            List<String> expected = aRows.stream().sorted(c.order()).map(Row::id).toList();
            List<String> seen = pageAll(a.secret(), "sort=" + URLEncoder.encode(c.sort(), StandardCharsets.UTF_8)
                    + "&q=tied_", 4);
            assertThat(seen).as("sort " + c.sort()).containsExactlyElementsOf(expected);
        }
    }

    @Test
    void searchIsCaseInsensitiveAndLiteralAndTypeFiltersExactOrByTopLevel() throws Exception {
        // "%" is a literal character of the names, not a wildcard: "d%" matches none of "tied_a%.txt".
        assertThat(pageAll(a.secret(), "q=" + enc("TIED_B%"), 50))
                .containsExactlyInAnyOrderElementsOf(ids(r -> r.filename().startsWith("Tied_b%")));
        assertThat(pageAll(a.secret(), "q=" + enc("d%"), 50)).isEmpty();
        assertThat(pageAll(a.secret(), "q=" + enc("_a"), 50))
                .containsExactlyInAnyOrderElementsOf(ids(r -> r.filename().contains("_a")));
        assertThat(pageAll(a.secret(), "q=tied&type=" + enc("image/png"), 5))
                .containsExactlyInAnyOrderElementsOf(ids(r -> r.type().equals("image/png")));
        assertThat(pageAll(a.secret(), "q=tied&type=" + enc("text/*") + "&sort=size", 5))
                .containsExactlyInAnyOrderElementsOf(ids(r -> r.type().equals("text/plain")));
        assertThat(pageAll(a.secret(), "q=tied&type=" + enc("text/csv"), 5)).isEmpty();
    }

    @Test
    void keyBNeverSeesKeyAsUploadsAndOnlyAnAdminSeesOwners() throws Exception {
        String bUpload = put(b.secret(), "b-own.txt", "hello from b".getBytes());
        for (String sort : List.of("-created", "created", "name", "-name", "size", "-size")) {
            List<String> seen = pageAll(b.secret(), "sort=" + enc(sort), 3);
            assertThat(seen).as(sort).containsExactly(bUpload);
            assertThat(pageAll(b.secret(), "sort=" + enc(sort) + "&q=tied", 3)).as(sort).isEmpty();
        }
        JsonNode bPage = Json.parse(get("/api/v1/uploads", b.secret()).body());
        assertThat(bPage.at("/uploads/0/owner").isMissingNode()).as("no owner field for a tenant").isTrue();
        JsonNode adminPage = Json.parse(get("/api/v1/uploads?q=b-own", admin).body());
        assertThat(adminPage.at("/uploads/0/id").asText()).isEqualTo(bUpload);
        assertThat(adminPage.at("/uploads/0/owner").asText()).isEqualTo(b.id());
        assertThat(pageAll(admin, "q=tied", 10)).hasSize(TIED);
        // A's cursor is no way into another tenant's rows: B gets only its own after it.
        String cursor = Json.parse(get("/api/v1/uploads?q=tied&limit=2", a.secret()).body()).path("nextCursor").asText();
        assertThat(pageIds(get("/api/v1/uploads?cursor=" + enc(cursor), b.secret()))).doesNotContainAnyElementsOf(
                aRows.stream().map(Row::id).toList());
    }

    @Test
    void aListedUploadShowsItsJob() throws Exception {
        HttpResponse<String> r = send("PUT", "/api/v1/uploads/with-job.txt?pipeline=noop", a.secret(),
                "job please".getBytes());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        String jobId = Json.parse(r.body()).at("/uploads/0/job/id").asText();
        JsonNode row = Json.parse(get("/api/v1/uploads?q=with-job", a.secret()).body()).at("/uploads/0");
        assertThat(row.path("job").path("id").asText()).isEqualTo(jobId);
        assertThat(row.path("job").path("statusUrl").asText()).isEqualTo("/api/v1/jobs/" + jobId);
        assertThat(row.path("job").path("state").asText()).isIn("queued", "running", "succeeded");
        JsonNode noJob = Json.parse(get("/api/v1/uploads?q=tied&limit=1", a.secret()).body()).at("/uploads/0");
        assertThat(noJob.has("job")).as("an upload that started no job is listed, without one").isFalse();
    }

    @Test
    void badParametersAre400WithACode() throws Exception {
        String nameCursor = Json.parse(get("/api/v1/uploads?q=tied&sort=name&limit=2", a.secret()).body())
                .path("nextCursor").asText();
        assertThat(nameCursor).isNotBlank();
        String idCursor = Json.parse(get("/api/v1/uploads?q=tied&limit=2", a.secret()).body())
                .path("nextCursor").asText();
        record Bad(String query, String code) {
        }
        for (Bad bad : List.of(
                new Bad("sort=newest", "invalid_sort"),
                new Bad("sort=" + enc("-id"), "invalid_sort"),
                new Bad("type=png", "invalid_type"),
                new Bad("type=" + enc("*/*"), "invalid_type"),
                new Bad("q=" + "x".repeat(201), "invalid_query"),
                new Bad("limit=0", "invalid_limit"),
                new Bad("limit=501", "invalid_limit"),
                new Bad("cursor=nonsense", "invalid_cursor"),
                new Bad("sort=size&cursor=" + enc(nameCursor), "invalid_cursor"),
                new Bad("sort=name&cursor=" + enc(idCursor), "invalid_cursor"),
                new Bad("cursor=" + enc(nameCursor), "invalid_cursor"))) {
            HttpResponse<String> r = get("/api/v1/uploads?" + bad.query(), a.secret());
            assertThat(r.statusCode()).as(bad.query() + " " + r.body()).isEqualTo(400);
            assertThat(Json.errorCode(r.body())).as(bad.query()).isEqualTo(bad.code());
        }
        HttpResponse<String> r = get("/api/v1/resumable?cursor=bad", a.secret());
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(Json.errorCode(r.body())).isEqualTo("invalid_cursor");
        r = get("/api/v1/resumable?limit=x", a.secret());
        assertThat(Json.errorCode(r.body())).isEqualTo("invalid_limit");
    }

    @Test
    void limitsAreTheCallersOwn() throws Exception {
        HttpResponse<String> r = get("/api/v1/limits", a.secret());
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode l = Json.parse(r.body());
        assertThat(l.path("maxFileSize").asLong()).as("key A's own limit").isEqualTo(5000);
        assertThat(l.path("serverMaxFileSize").asLong()).isEqualTo(10L * 1024 * 1024 * 1024);
        assertThat(l.path("maxFilesPerRequest").asInt()).isEqualTo(5);
        assertThat(l.path("allowedTypes").isArray()).isTrue();
        assertThat(l.at("/key/id").asText()).isEqualTo(a.id());
        assertThat(l.at("/key/quotaBytes").asLong()).isEqualTo(100000);
        long used = l.at("/key/usedBytes").asLong();
        assertThat(used).as("the tied rows count").isGreaterThanOrEqualTo(aRows.stream().mapToLong(Row::size).sum());
        assertThat(l.at("/key/remainingBytes").asLong()).isEqualTo(100000 - used);
        // The wording the dashboard copies is the server's: a file over the limit is refused with it.
        HttpResponse<String> refused = send("PUT", "/api/v1/uploads/big.bin", a.secret(), new byte[5001]);
        assertThat(refused.statusCode()).isEqualTo(413);
        assertThat(Json.parse(refused.body()).at("/error/message").asText())
                .isEqualTo("the file is larger than the limit of 5000 bytes");

        JsonNode lb = Json.parse(get("/api/v1/limits", b.secret()).body());
        assertThat(lb.path("maxFileSize").asLong()).isEqualTo(lb.path("serverMaxFileSize").asLong());
        assertThat(lb.at("/key/maxFileSize").isNull()).isTrue();
        assertThat(lb.at("/key/quotaBytes").isNull()).isTrue();
        assertThat(lb.at("/key/remainingBytes").isNull()).isTrue();
        assertThat(get("/api/v1/limits", null).statusCode()).as("keys exist: a key is needed").isEqualTo(401);
    }

    @Test
    void unfinishedResumableUploadsAreListedToTheirOwnerAndRemovable() throws Exception {
        HttpResponse<String> created = send("POST", "/files/", a.secret(), null, "Tus-Resumable", "1.0.0",
                "Upload-Length", "1000", "Upload-Metadata", "filename " + java.util.Base64.getEncoder()
                        .encodeToString("half.bin".getBytes()));
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        String url = java.net.URI.create(created.headers().firstValue("Location").orElseThrow()).getPath();
        HttpResponse<String> patched = send("PATCH", url, a.secret(), new byte[300], "Tus-Resumable", "1.0.0",
                "Upload-Offset", "0", "Content-Type", "application/offset+octet-stream");
        assertThat(patched.statusCode()).as(patched.body()).isEqualTo(204);

        JsonNode page = Json.parse(get("/api/v1/resumable", a.secret()).body());
        assertThat(page.path("uploads")).hasSize(1);
        JsonNode p = page.at("/uploads/0");
        assertThat(p.path("filename").asText()).isEqualTo("half.bin");
        assertThat(p.path("offset").asLong()).isEqualTo(300);
        assertThat(p.path("length").asLong()).isEqualTo(1000);
        assertThat(p.path("url").asText()).isEqualTo(url);
        assertThat(java.time.Instant.parse(p.path("expiresAt").asText())).isAfter(java.time.Instant.now());
        assertThat(page.path("nextCursor").isNull()).isTrue();
        assertThat(Json.parse(get("/api/v1/resumable", b.secret()).body()).path("uploads")).isEmpty();
        assertThat(Json.parse(get("/api/v1/resumable", admin).body()).at("/uploads/0/owner").asText())
                .isEqualTo(a.id());
        // Not a stored upload: the files list does not show it.
        assertThat(pageAll(a.secret(), "q=half.bin", 10)).isEmpty();

        HttpResponse<String> deleted = send("DELETE", url, a.secret(), null, "Tus-Resumable", "1.0.0");
        assertThat(deleted.statusCode()).isEqualTo(204);
        assertThat(Json.parse(get("/api/v1/resumable", a.secret()).body()).path("uploads")).isEmpty();
        assertThat(server.stagedFiles()).isZero();
    }

    // -------------------------------------------------------------------------------------------------------------

    private static List<String> ids(java.util.function.Predicate<Row> p) {
        return aRows.stream().filter(p).map(Row::id).toList();
    }

    /** Every page of a listing, following nextCursor; fails on a repeated id or a runaway loop. */
    private static List<String> pageAll(String key, String query, int limit) throws Exception {
        List<String> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        String cursor = null;
        for (int pages = 0; pages < 100; pages++) {
            String path = "/api/v1/uploads?limit=" + limit + "&" + query
                    + (cursor == null ? "" : "&cursor=" + enc(cursor));
            HttpResponse<String> r = get(path, key);
            assertThat(r.statusCode()).as(path + " " + r.body()).isEqualTo(200);
            JsonNode page = Json.parse(r.body());
            assertThat(page.path("uploads").size()).isLessThanOrEqualTo(limit);
            for (String id : pageIds(r)) {
                assertThat(seen.add(id)).as("repeated " + id + " in " + query).isTrue();
                out.add(id);
            }
            if (page.path("nextCursor").isNull()) {
                return out;
            }
            cursor = page.path("nextCursor").asText();
        }
        throw new AssertionError("more than 100 pages for " + query);
    }

    private static List<String> pageIds(HttpResponse<String> r) {
        List<String> ids = new ArrayList<>();
        Json.parse(r.body()).path("uploads").forEach(u -> ids.add(u.path("id").asText()));
        return ids;
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static String put(String key, String name, byte[] body) throws Exception {
        HttpResponse<String> r = send("PUT", "/api/v1/uploads/" + name, key, body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return Json.parse(r.body()).at("/uploads/0/id").asText();
    }

    private static HttpResponse<String> get(String path, String key) throws Exception {
        return send("GET", path, key, null);
    }

    private static HttpResponse<String> send(String method, String path, String key, byte[] body, String... headers)
            throws Exception {
        HttpRequest.Builder req = HttpRequest.newBuilder(server.uri(path)).timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body));
        if (key != null) {
            req.header("Authorization", "Bearer " + key);
        }
        if (headers.length > 0) {
            req.headers(headers);
        }
        return server.send(req.build());
    }

    private static Key createKey(String adminKey, String json) throws Exception {
        HttpResponse<String> r = send("POST", "/api/v1/keys", adminKey, json.getBytes(),
                "Content-Type", "application/json");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        JsonNode n = Json.parse(r.body());
        return new Key(n.path("id").asText(), n.path("key").asText());
    }
}
