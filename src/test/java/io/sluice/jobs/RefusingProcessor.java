package io.sluice.jobs;

import io.sluice.api.ApiException;
import io.sluice.processors.Processor;
import io.sluice.processors.ProcessorException;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;

/**
 * {@code test-refuse}, a processor for tests whose precheck reads the first bytes of the stored file, as the
 * spreadsheet processor reads a header row: a file starting with {@code bad} is refused with a
 * {@link ProcessorException} ({@code bad_file}), any other file not starting with {@code id,} with 422
 * {@code missing_columns} listing {@code id}. The run writes one row.
 */
public final class RefusingProcessor implements Processor {

    @Override
    public String name() {
        return "test-refuse";
    }

    @Override
    public Task configure(Map<String, Object> options) {
        return new Task() {
            @Override
            public void precheck(java.nio.file.Path file, String contentType) throws Exception {
                byte[] head;
                try (InputStream in = Files.newInputStream(file)) {
                    head = in.readNBytes(16);
                }
                String start = new String(head, StandardCharsets.UTF_8);
                if (start.startsWith("bad")) {
                    throw new ProcessorException("bad_file", "the file is bad");
                }
                if (!start.startsWith("id,")) {
                    throw new ApiException(422, "missing_columns", "the header row lacks the required column id",
                            Map.of("missing", List.of("id")), null);
                }
            }

            @Override
            public Result run(io.sluice.processors.ProcessorContext context) throws Exception {
                context.output().write(Map.of("checked", context.upload().filename()));
                return Result.of(Map.of("checked", true));
            }
        };
    }
}
