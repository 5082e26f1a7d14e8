package io.sluice.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.testing.Await;
import io.sluice.testing.Json;
import io.sluice.testing.SluiceServerExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The client commands of issue 16 through {@code Cli.run} against a real server: a rerun of {@code sluice upload}
 * skips what it finished (and uploads again what the server lost), {@code uploads list|show|download|delete},
 * {@code jobs list --json} and {@code jobs output}, human sizes and {@code --bytes}.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class UploadsCommandsTest {

    static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    static Path dir;
    @RegisterExtension
    static final SluiceServerExtension server = SluiceServerExtension.with().config("""
                    jobs:
                      pollInterval: 50ms
                    pipelines:
                      rows:
                        processor: test-sleep
                        options: {lines: 3000}
                    """);

    @AfterEach
    void nothingHeld() throws Exception {
        server.assertNothingLeftBehind();
    }

    private static String url() {
        return "http://127.0.0.1:" + server.port();
    }

    private static Cli.Run sluice(String... args) {
        List<String> all = new ArrayList<>(Arrays.asList(args));
        all.addAll(List.of("--server", url()));
        return Cli.run(all.toArray(String[]::new));
    }

    /** Every upload the server holds, through the API (not the command under test). */
    private static List<JsonNode> serverUploads() throws Exception {
        JsonNode page = Json.parse(server.get("/api/v1/uploads?limit=500").body());
        assertThat(page.path("nextCursor").isNull()).isTrue();
        List<JsonNode> all = new ArrayList<>();
        page.path("uploads").forEach(all::add);
        return all;
    }

    /** The uploads' own ids (a listed upload also carries its job, which has an id of its own). */
    private static List<String> ids(JsonNode uploads) {
        List<String> out = new ArrayList<>();
        uploads.forEach(u -> out.add(u.path("id").asText()));
        return out;
    }

    private static long uploadsWithSha(String sha) throws Exception {
        return serverUploads().stream().filter(u -> u.path("sha256").asText().equals(sha)).count();
    }

    private static String idOf(Cli.Run r, Path file) {
        Matcher m = Pattern.compile(Pattern.quote(file.toString()) + "  id=(\\S+)").matcher(r.out());
        assertThat(m.find()).as(file + " in\n" + r).isTrue();
        return m.group(1);
    }

    @Test
    void aRerunSkipsFinishedFilesAndUploadsAgainWhatTheServerLost() throws Exception {
        Path files = Files.createDirectories(dir.resolve("rerun"));
        Path a = Cli.randomFile(files, "a.bin", 300_000, 21);
        Path b = Cli.randomFile(files, "b.bin", 200_000, 22);
        String state = dir.resolve("state-rerun.json").toString();
        String[] upload = {"upload", "--no-progress", "--chunk-size", "64KiB", "--state-file", state,
                a.toString(), b.toString()};

        Cli.Run first = sluice(upload);
        assertThat(first.exit()).as(first.toString()).isZero();
        String idA = idOf(first, a);
        String idB = idOf(first, b);
        assertThat(first.out()).doesNotContain("already uploaded");

        Cli.Run second = sluice(upload);
        assertThat(second.exit()).as(second.toString()).isZero();
        assertThat(second.out())
                .contains(a + "  id=" + idA + "  sha256=" + Cli.sha256(a) + "  (already uploaded)")
                .contains(b + "  id=" + idB + "  sha256=" + Cli.sha256(b) + "  (already uploaded)");
        assertThat(uploadsWithSha(Cli.sha256(a))).isOne();
        assertThat(uploadsWithSha(Cli.sha256(b))).isOne();

        // Deleted on the server (through the CLI): the next run sees the 404 and stores it again.
        Cli.Run delete = sluice("uploads", "delete", idA);
        assertThat(delete.exit()).as(delete.toString()).isZero();
        assertThat(delete.out()).contains("deleted " + idA);
        assertThat(server.get("/api/v1/uploads/" + idA).statusCode()).isEqualTo(404);

        Cli.Run third = sluice(upload);
        assertThat(third.exit()).as(third.toString()).isZero();
        assertThat(third.out()).contains("a.bin: upload " + idA + " is gone from the server; uploading again")
                .contains(b + "  id=" + idB + "  sha256=" + Cli.sha256(b) + "  (already uploaded)");
        String newA = idOf(third, a);
        assertThat(newA).isNotEqualTo(idA);
        assertThat(uploadsWithSha(Cli.sha256(a))).isOne();
        assertThat(uploadsWithSha(Cli.sha256(b))).isOne();

        // A changed file is a new file: uploaded again, and its old entry pruned from the state.
        Files.write(b, new byte[]{1, 2, 3}, java.nio.file.StandardOpenOption.APPEND);
        Cli.Run fourth = sluice(upload);
        assertThat(fourth.exit()).as(fourth.toString()).isZero();
        assertThat(idOf(fourth, b)).isNotEqualTo(idB);
        assertThat(fourth.out()).contains(a + "  id=" + newA).contains("(already uploaded)");
        JsonNode remembered = Json.parse(Files.readString(Path.of(state)));
        assertThat(remembered.size()).as(remembered.toPrettyString()).isEqualTo(2);
    }

    @Test
    void deleteAndShowOfAnUnknownIdExitOneWithTheServersError() {
        Cli.Run show = sluice("uploads", "show", "01M84A0XEBDG9KWYQP57BPHWTJ");
        assertThat(show.exit()).isEqualTo(1);
        assertThat(show.err()).contains("404 not_found");
        Cli.Run delete = sluice("uploads", "delete", "01M84A0XEBDG9KWYQP57BPHWTJ");
        assertThat(delete.exit()).isEqualTo(1);
        assertThat(delete.err()).contains("01M84A0XEBDG9KWYQP57BPHWTJ: 404 not_found");
        Cli.Run download = sluice("uploads", "download", "01M84A0XEBDG9KWYQP57BPHWTJ", "-o",
                dir.resolve("never.bin").toString());
        assertThat(download.exit()).isEqualTo(1);
        assertThat(dir.resolve("never.bin")).doesNotExist();
        assertThat(dir.resolve("never.bin.part")).doesNotExist();
        Cli.Run output = sluice("jobs", "output", "01M84A0XEBDG9KWYQP57BPHWTJ");
        assertThat(output.exit()).isEqualTo(1);
        assertThat(output.err()).contains("404");
    }

    @Test
    void listFollowsCursorsAndPrintsHumanSizesUnlessBytes() throws Exception {
        Path files = Files.createDirectories(dir.resolve("list"));
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Path f = Cli.randomFile(files, "l" + i + ".bin", 1536 * 1024 + i, 30 + i);
            Cli.Run r = sluice("upload", "--no-progress", "--state-file", dir.resolve("state-list.json").toString(),
                    f.toString());
            assertThat(r.exit()).as(r.toString()).isZero();
            ids.add(idOf(r, f));
        }
        List<String> newestFirst = ids.reversed();

        // Pages of 2 followed until the limit of 3; the rest is announced with its cursor.
        Cli.Run three = sluice("uploads", "list", "--limit", "3", "--page-size", "2");
        assertThat(three.exit()).as(three.toString()).isZero();
        List<String> lines = three.out().lines().toList();
        assertThat(lines.getFirst()).startsWith("ID").contains("NAME").contains("SIZE").contains("TYPE");
        assertThat(lines.subList(1, 4)).allSatisfy(l -> assertThat(l).contains("1.5 MiB"));
        assertThat(lines.subList(1, 4).stream().map(l -> l.split("\\s+")[0]).toList())
                .isEqualTo(newestFirst.subList(0, 3));
        Matcher more = Pattern.compile("--cursor (\\S+)").matcher(three.err());
        assertThat(more.find()).as(three.toString()).isTrue();

        // --json from that cursor: the other two of ours, sizes in bytes, and nextCursor for scripts.
        Cli.Run rest = sluice("uploads", "list", "--json", "--limit", "2", "--page-size", "1", "--cursor",
                more.group(1));
        assertThat(rest.exit()).as(rest.toString()).isZero();
        JsonNode restJson = Json.parse(rest.out());
        assertThat(ids(restJson.path("uploads"))).isEqualTo(newestFirst.subList(3, 5));
        assertThat(restJson.path("uploads").get(0).path("size").asLong()).isEqualTo(1536 * 1024 + 1);

        // --all --json walks every page (pages of 2) and ends with nextCursor null.
        Cli.Run all = sluice("uploads", "list", "--json", "--all", "--page-size", "2");
        JsonNode allJson = Json.parse(all.out());
        assertThat(allJson.path("nextCursor").isNull()).as(all.out()).isTrue();
        assertThat(ids(allJson.path("uploads")))
                .isEqualTo(serverUploads().stream().map(u -> u.path("id").asText()).toList());

        Cli.Run bytes = sluice("uploads", "list", "--bytes", "--limit", "1");
        assertThat(bytes.out()).contains(newestFirst.getFirst()).contains(Long.toString(1536 * 1024 + 4))
                .doesNotContain("MiB");

        Cli.Run show = sluice("uploads", "show", ids.getFirst());
        assertThat(show.exit()).as(show.toString()).isZero();
        assertThat(show.out()).contains("size:").contains("1.5 MiB (1572864 bytes)").contains("sha256:")
                .contains("filename:").contains("l0.bin");
        Cli.Run showJson = sluice("uploads", "show", "--json", ids.getFirst());
        assertThat(Json.parse(showJson.out()).path("size").asLong()).isEqualTo(1536 * 1024);

        Cli.Run limitZero = sluice("uploads", "list", "--limit", "0");
        assertThat(limitZero.exit()).isEqualTo(2);
        assertThat(limitZero.err()).contains("--limit must be at least 1").contains("Usage:");
    }

    @Test
    void downloadWritesAVerifiedFileAndTakesUpAPartialOne() throws Exception {
        Path f = Cli.randomFile(dir, "dl.bin", 3 * 1024 * 1024 + 5, 40);
        Cli.Run up = sluice("upload", "--no-progress", "--state-file", dir.resolve("state-dl.json").toString(),
                f.toString());
        String id = idOf(up, f);
        byte[] original = Files.readAllBytes(f);

        Path whole = dir.resolve("whole.bin");
        Cli.Run d = sluice("uploads", "download", id, "-o", whole.toString());
        assertThat(d.exit()).as(d.toString()).isZero();
        assertThat(Files.readAllBytes(whole)).isEqualTo(original);
        assertThat(d.out()).contains("saved " + whole).contains("verified");
        assertThat(Downloads.partOf(whole)).doesNotExist();

        // A part left by an interrupted download: only the rest is fetched.
        Path resumed = dir.resolve("resumed.bin");
        Files.write(Downloads.partOf(resumed), Arrays.copyOf(original, 1_000_000));
        Cli.Run r = sluice("uploads", "download", id, "-o", resumed.toString());
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).contains("resumed at 1000000 bytes");
        assertThat(Files.readAllBytes(resumed)).isEqualTo(original);
        assertThat(Downloads.partOf(resumed)).doesNotExist();

        // A part whose bytes are not the upload's: the sha256 check fails, nothing is left under either name.
        Path bad = dir.resolve("bad.bin");
        byte[] wrong = Arrays.copyOf(original, 1_000_000);
        wrong[10] ^= 1;
        Files.write(Downloads.partOf(bad), wrong);
        Cli.Run b = sluice("uploads", "download", id, "-o", bad.toString());
        assertThat(b.exit()).as(b.toString()).isEqualTo(1);
        assertThat(b.err()).contains("sha256 mismatch");
        assertThat(bad).doesNotExist();
        assertThat(Downloads.partOf(bad)).doesNotExist();
    }

    @Test
    void jobsOutputStreamsTheNdjsonToStdoutOrAFileAndJobsListHasJson() throws Exception {
        Path f = Cli.randomFile(dir, "rows.bin", 5000, 50);
        Cli.Run up = sluice("upload", "--no-progress", "--pipeline", "rows", "--wait",
                "--state-file", dir.resolve("state-rows.json").toString(), f.toString());
        assertThat(up.exit()).as(up.toString()).isZero();
        Matcher job = Pattern.compile("job=(\\S+)").matcher(up.out());
        assertThat(job.find()).isTrue();
        String id = job.group(1);
        Await.until(WAIT, "job succeeded", () -> Json.parse(server.get("/api/v1/jobs/" + id).body())
                .path("state").asText().equals("succeeded"));
        String expected = server.get("/api/v1/jobs/" + id + "/output").body();
        assertThat(expected.lines().count()).isEqualTo(3000);

        Cli.Run stdout = sluice("jobs", "output", id);
        assertThat(stdout.exit()).as(stdout.err()).isZero();
        assertThat(stdout.out()).isEqualTo(expected);

        Path file = dir.resolve("rows.ndjson");
        Cli.Run toFile = sluice("jobs", "output", id, "-o", file.toString());
        assertThat(toFile.exit()).as(toFile.toString()).isZero();
        assertThat(Files.readString(file)).isEqualTo(expected);
        assertThat(Downloads.partOf(file)).doesNotExist();

        Cli.Run list = sluice("jobs", "list", "--json", "--pipeline", "rows");
        JsonNode jobs = Json.parse(list.out());
        assertThat(jobs.path("jobs").findValuesAsText("id")).contains(id);
        assertThat(jobs.has("nextCursor")).isTrue();
        try (Stream<Path> left = Files.list(dir).filter(p -> p.toString().endsWith(".part"))) {
            assertThat(left).isEmpty();
        }
    }
}
