package io.sluice.notify;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A generated secret is agreed on by everyone who asks at once (an API process and a worker starting together on
 * one data directory): one value, no reader ever sees the file empty, no temporary file left.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class WebhookSecretTest {

    @TempDir
    Path dir;

    @Test
    void concurrentFirstStartsAgreeOnOneSecret() throws Exception {
        for (int round = 0; round < 20; round++) {
            Path data = Files.createDirectory(dir.resolve("d" + round));
            CountDownLatch go = new CountDownLatch(1);
            List<Future<String>> answers = new ArrayList<>();
            try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
                for (int i = 0; i < 8; i++) {
                    answers.add(pool.submit(() -> {
                        go.await();
                        return WebhookSecret.resolve("", data);
                    }));
                }
                go.countDown();
                String first = answers.getFirst().get();
                assertThat(first).hasSize(64);
                for (Future<String> a : answers) {
                    assertThat(a.get()).isEqualTo(first);
                }
            }
            try (Stream<Path> files = Files.list(data)) {
                assertThat(files.map(p -> p.getFileName().toString())).containsExactly(WebhookSecret.FILE);
            }
        }
    }

    @Test
    void aConfiguredSecretWinsAndWritesNothing() throws Exception {
        assertThat(WebhookSecret.resolve("configured-secret-0123", dir, "presign-secret", "presign.secret"))
                .isEqualTo("configured-secret-0123");
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).isEmpty();
        }
    }
}
