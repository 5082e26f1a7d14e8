package io.sluice.processors;

import io.sluice.api.ApiException;

import java.nio.file.Path;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * A kind of background work over one stored upload (parse a spreadsheet, extract a PDF's text, forward the file).
 * Built-ins and third-party processors are found with {@link ServiceLoader} under
 * {@code META-INF/services/io.sluice.processors.Processor}; a pipeline in {@code sluice.yaml} names one by
 * {@link #name()} and gives its options.
 *
 * <p>Contract:
 * <ul>
 *   <li>{@link #configure} runs once at start-up with the pipeline's options and refuses bad ones with an
 *       {@link IllegalArgumentException} whose message names the option ({@code options.maxRows: must be >= 1}).
 *       It does no I/O.</li>
 *   <li>A {@link Task} is shared by every job of its pipeline and may run on many threads at once: keep per-job
 *       state on the stack.</li>
 *   <li>{@link Task#run} must be idempotent per upload: a retried attempt starts from the beginning, and only
 *       the output of the attempt that succeeds is kept.</li>
 *   <li>Memory must not grow with the file: stream, and spill to {@link ProcessorContext#workDir()}.</li>
 * </ul>
 */
public interface Processor {

    /** The name pipelines use ({@code processor: spreadsheet}). Lower-case letters, digits and dashes. */
    String name();

    /** Validates and binds the pipeline's options. */
    Task configure(Map<String, Object> options);

    /** Whether this processor runs in a child JVM unless the pipeline says otherwise (parsers of hostile formats). */
    default boolean isolatedByDefault() {
        return false;
    }

    /** A configured processor. */
    interface Task {

        /**
         * Cheap check while the upload request is still open, after the bytes are stored and before the upload is
         * recorded: a refusal (an {@link ApiException}, typically 422) answers the request and the
         * upload is not kept. Must read only what it needs (a spreadsheet's header row, not its rows).
         *
         * @param file        the stored bytes, read-only
         * @param contentType the detected type
         */
        default void precheck(Path file, String contentType) throws Exception {
        }

        /**
         * Does the work. Report progress, call {@link ProcessorContext#checkpoint()} often (it throws when the job
         * was cancelled or its lease lost), write rows to {@link ProcessorContext#output()}, return the summary.
         *
         * @throws ProcessorException for a failure with a code and message meant for the user (a malformed or
         *                            encrypted file); any other exception is a retryable processor error
         */
        Result run(ProcessorContext context) throws Exception;
    }

    /** What a successful run reports: a JSON-serialisable summary (rows, pages, columns, ...). */
    record Result(Map<String, Object> summary) {
        public Result {
            summary = Map.copyOf(summary);
        }

        public static Result of(Map<String, Object> summary) {
            return new Result(summary);
        }
    }
}
