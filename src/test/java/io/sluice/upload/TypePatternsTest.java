package io.sluice.upload;

import io.sluice.testing.Json;
import io.sluice.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The one matching rule of {@code limits.allowedTypes} and a pipeline's {@code types}. */
class TypePatternsTest {

    @Test
    void anExactTypeAcceptsThatTypeOnlyNotWhatTikaDerivesFromIt() {
        TypePatterns plain = new TypePatterns(List.of("text/plain"));

        assertThat(plain.accepts("text/plain")).isTrue();
        assertThat(plain.accepts("text/plain; charset=UTF-8")).isTrue();
        assertThat(plain.accepts("text/csv")).isFalse();
        assertThat(plain.accepts("text/x-sh")).isFalse();
        assertThat(plain.accepts("application/x-sh")).isFalse();
        assertThat(new TypePatterns(List.of("application/octet-stream")).accepts("application/pdf")).isFalse();
    }

    @Test
    void anAliasIsTheSameType() {
        assertThat(new TypePatterns(List.of("application/xml")).accepts("text/xml")).isTrue();
        assertThat(new TypePatterns(List.of("text/xml")).accepts("application/xml")).isTrue();
    }

    @Test
    void subtypesIsAnExplicitOptInToTheHierarchy() {
        TypePatterns plain = new TypePatterns(List.of("text/plain+subtypes"));

        assertThat(plain.accepts("text/plain")).isTrue();
        assertThat(plain.accepts("text/csv")).isTrue();
        assertThat(plain.accepts("application/x-sh")).isTrue();
        assertThat(plain.accepts("application/pdf")).isFalse();
        assertThat(new TypePatterns(List.of("application/zip+subtypes"))
                .accepts("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")).isTrue();
        assertThat(new TypePatterns(List.of("application/zip"))
                .accepts("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")).isFalse();
    }

    @Test
    void aWildcardAcceptsItsTopLevelTypeAndAnEmptyListAcceptsAll() {
        TypePatterns images = new TypePatterns(List.of("image/*"));
        assertThat(images.accepts("image/png")).isTrue();
        assertThat(images.accepts("image/svg+xml")).isTrue();
        assertThat(images.accepts("text/plain")).isFalse();
        assertThat(new TypePatterns(List.of()).accepts("application/x-sh")).isTrue();
        assertThat(images.accepts("not a type")).isFalse();
    }

    /** Through a real server: a shell script is not "text/plain" unless the configuration opts in. */
    @Test
    void aServerAllowingTextPlainRefusesAShellScriptUnlessSubtypesAreAllowed(@TempDir Path dir) throws Exception {
        String script = "#!/bin/sh\necho hello\n";
        try (TestServer exact = TestServer.start(dir.resolve("a"), "limits.allowedTypes", "text/plain")) {
            HttpResponse<String> refused = put(exact, "run.txt", script);
            assertThat(refused.statusCode()).as(refused.body()).isEqualTo(415);
            assertThat(Json.errorCode(refused.body())).isEqualTo("type_not_allowed");
            assertThat(put(exact, "notes.txt", "just some words\n").statusCode()).isEqualTo(201);
            exact.assertNothingLeftBehind();
        }
        try (TestServer wide = TestServer.start(dir.resolve("b"), "limits.allowedTypes", "text/plain+subtypes")) {
            HttpResponse<String> accepted = put(wide, "run.txt", script);
            assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(201);
            assertThat(put(wide, "stock.csv", "sku,qty\nA-1,3\n").statusCode()).isEqualTo(201);
        }
    }

    private static HttpResponse<String> put(TestServer server, String name, String body) throws Exception {
        return server.send(HttpRequest.newBuilder(server.uri("/api/v1/uploads/" + name))
                .PUT(HttpRequest.BodyPublishers.ofString(body)).build());
    }
}
