package io.sluice.app;

import io.sluice.storage.DiskLedger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.LongSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The ledger's free-space figure resolves the data directory's file store once: it must answer what
 * {@link DiskLedger#usableSpace} answers (the same filesystem), -1 while the directory cannot be read, and a
 * figure once it can (a failure is not remembered).
 */
class StorageModuleTest {

    @TempDir
    Path dir;

    @Test
    void freeSpaceIsTheFilesystemsFigureAndAFailureIsNotRemembered() throws Exception {
        Path missing = dir.resolve("later");
        LongSupplier free = StorageModule.freeSpace(missing);
        assertThat(free.getAsLong()).as("no directory yet").isEqualTo(-1);

        Files.createDirectories(missing);
        long before = free.getAsLong();
        long reference = DiskLedger.usableSpace(missing);
        assertThat(before).isPositive();
        // Other processes write to this disk: the two reads may differ by what they wrote in between.
        assertThat(Math.abs(before - reference)).isLessThan(Math.max(64L << 20, reference / 100));
    }
}
