package io.sluice.jobs;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The output files of jobs: published whole by a rename, one per job, temporaries and orphans swept. */
class OutputStoreTest {

    static final String JOB = "01M848YJ7R55SWQAWPGBBH7EQ7";
    static final String OTHER = "01M848YJ7R55SWQAWPGBBH7EQ8";

    @TempDir
    Path dir;

    @Test
    void publishingReplacesAnEarlierAttemptsOutput() throws Exception {
        OutputStore store = new OutputStore(dir);
        assertThat(store.find(JOB)).isEmpty();
        Path first = store.temporaryFile(JOB, 1);
        Files.writeString(first, "{\"a\":1}\n");
        store.publish(first, JOB);
        Path second = store.temporaryFile(JOB, 2);
        Files.writeString(second, "{\"a\":2}\n");
        store.publish(second, JOB);

        assertThat(first).doesNotExist();
        assertThat(second).doesNotExist();
        assertThat(store.find(JOB)).get().satisfies(p -> {
            assertThat(p).hasContent("{\"a\":2}");
            assertThat(p.getParent().getFileName().toString()).isEqualTo("Q7");
        });
    }

    @Test
    void temporariesAndOrphansAreSwept() throws Exception {
        OutputStore store = new OutputStore(dir);
        Files.writeString(store.temporaryFile(JOB, 3), "half");
        Files.createDirectories(store.workDir(JOB, 3).resolve("deep"));
        Files.writeString(store.workDir(JOB, 3).resolve("deep/spill.bin"), "x");
        assertThat(store.sweepTemporary()).isEqualTo(2);
        assertThat(dir.resolve("outputs/tmp")).isEmptyDirectory();
        assertThat(dir.resolve("work")).isEmptyDirectory();

        for (String id : Set.of(JOB, OTHER)) {
            Path t = store.temporaryFile(id, 1);
            Files.writeString(t, "{}\n");
            store.publish(t, id);
        }
        assertThat(store.sweepOrphans(id -> id.equals(JOB))).isEqualTo(1);
        assertThat(store.find(JOB)).isPresent();
        assertThat(store.find(OTHER)).isEmpty();
    }

    @Test
    void aNewAttemptDiscardsWhatEarlierAttemptsLeft() throws Exception {
        OutputStore store = new OutputStore(dir);
        for (int attempt = 1; attempt <= 3; attempt++) {
            Files.writeString(store.temporaryFile(JOB, attempt), "attempt " + attempt);
            Files.createDirectories(store.workDir(JOB, attempt).resolve("deep"));
            Files.writeString(store.workDir(JOB, attempt).resolve("deep/spill.bin"), "x");
        }
        store.discardEarlierAttempts(JOB, 3);
        assertThat(store.temporaryFile(JOB, 1)).doesNotExist();
        assertThat(store.temporaryFile(JOB, 2)).doesNotExist();
        assertThat(store.workDir(JOB, 1)).doesNotExist();
        assertThat(store.workDir(JOB, 2)).doesNotExist();
        assertThat(store.temporaryFile(JOB, 3)).hasContent("attempt 3");
        assertThat(store.workDir(JOB, 3).resolve("deep/spill.bin")).exists();
        store.discardEarlierAttempts(JOB, 1); // a first attempt has nothing before it
        assertThat(store.temporaryFile(JOB, 3)).exists();
    }

    @Test
    void onlyJobIdsMakePaths() throws Exception {
        OutputStore store = new OutputStore(dir);
        assertThatThrownBy(() -> store.temporaryFile("../../etc/passwd", 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(store.find("../x")).isEmpty();
    }
}
