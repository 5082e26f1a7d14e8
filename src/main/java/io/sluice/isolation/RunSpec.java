package io.sluice.isolation;

import io.sluice.processors.ProcessorContext;

import java.util.Map;
import java.util.Objects;

/**
 * What {@code sluice run-job} runs: one attempt of one processor task, as JSON on its stdin or in a file. Written by
 * the worker, read by the child JVM; the child touches nothing but these paths (no database, no configuration).
 *
 * @param processor the processor's name (ServiceLoader, as in pipelines)
 * @param options   the pipeline's options, passed to {@code configure}
 * @param upload    what the processor sees of the upload
 * @param file      the upload's bytes, read-only
 * @param output    the NDJSON output file the child creates (the parent publishes it on success)
 * @param workDir   the attempt's scratch directory (also the child's {@code java.io.tmpdir})
 */
public record RunSpec(String processor, Map<String, Object> options, ProcessorContext.UploadInfo upload,
                      String file, String output, String workDir) {

    public RunSpec {
        Objects.requireNonNull(processor, "processor");
        Objects.requireNonNull(upload, "upload");
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(output, "output");
        Objects.requireNonNull(workDir, "workDir");
        options = options == null ? Map.of() : options;
    }
}
