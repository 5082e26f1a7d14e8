package io.sluice.jobs;

/**
 * Runs one attempt of a job of one pipeline. Contract:
 * <ul>
 *   <li>Jobs are delivered at least once: an attempt may be repeated after a crash, a lost lease or a retry, so
 *       the handler must be idempotent per job (write outputs under keys derived from the job or upload id).</li>
 *   <li>Returning succeeds the job with the result (when this worker still holds the lease). Throwing fails the
 *       attempt: {@link JobFailedException} chooses the code and whether to retry; anything else, including an
 *       {@link Error} such as {@link OutOfMemoryError}, is caught by the pool and never escapes it.</li>
 *   <li>Call {@link JobContext#checkpoint()} regularly; it is how cancel, lease loss and stop reach the handler.
 *       Time limits and stop also interrupt the handler's thread, so blocking calls should be interruptible.</li>
 * </ul>
 */
@FunctionalInterface
public interface JobHandler {

    Result run(JobContext context) throws Exception;

    /** A succeeded job's output: JSON text stored in {@code jobs.result}, or null for none. */
    record Result(String json) {

        private static final Result NONE = new Result(null);

        public static Result none() {
            return NONE;
        }

        public static Result json(String json) {
            return new Result(json);
        }
    }
}
