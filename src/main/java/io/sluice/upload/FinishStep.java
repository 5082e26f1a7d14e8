package io.sluice.upload;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;

/**
 * The durable steps of finishing a (non-partial) resumable upload, in order. What a crash right after each leaves:
 * <ol>
 *   <li>{@link #WRITTEN}: all bytes written, not yet fsync'd; the row keeps the earlier offset, and the tail is
 *       an unacknowledged append that the next {@code PATCH} cuts off and the client sends again.</li>
 *   <li>{@link #SYNCED}: the bytes are fsync'd, the offset not recorded: the same as above (the offset is only
 *       what the database says; nothing past it was answered to anyone).</li>
 *   <li>{@link #RECORDED}: offset = length committed, state {@link Resumable.State#FINISHING}: every byte is durable
 *       and counted. From here on the finish is completed by recovery, never redone by the client.</li>
 *   <li>{@link #PROMOTED}: the blob is in its final place; {@code ResumableStore.promote} is idempotent.</li>
 *   <li>{@link #PLANNED}: type, sha256 and pipeline decided (nothing durable: recomputed by recovery).</li>
 *   <li>{@link #COMMITTED}: upload record + job + completed state committed in one transaction.</li>
 * </ol>
 * A creation whose body is the whole upload ({@link ResumableService#createComplete}) passes three of them:
 * {@link #WRITTEN} (staged, not fsync'd: swept at start), {@link #PROMOTED} (fsync'd and linked to its blob name,
 * the transaction not committed: the start's sweep finds no record and removes the blob) and {@link #COMMITTED}.
 */
public enum FinishStep {
    WRITTEN, SYNCED, RECORDED, PROMOTED, PLANNED, COMMITTED;

    /**
     * Test seam (issue 13, section 8): {@code -Dsluice.test.haltAt=<step>[@<filename>]} halts the JVM the way
     * {@code kill -9} would when a finish reaches that step (lower case), of any upload or only of the upload with
     * that filename, so a test can stop the server between any two durable steps of one upload while it resumes
     * others. Unset in production: {@link Seam#reached} is then a comparison with null.
     */
    public static final String HALT_PROPERTY = "sluice.test.haltAt";

    /** The seam as configured for this JVM: the step to halt at (or null, always outside crash tests). */
    record Seam(FinishStep haltAt, String haltFilename) {

        private static final Logger log = LoggerFactory.getLogger(FinishStep.class);

        static Seam fromSystemProperty() {
            String halt = System.getProperty(HALT_PROPERTY, "").strip();
            int at = halt.indexOf('@');
            FinishStep step = halt.isEmpty() ? null : FinishStep.valueOf(
                    (at < 0 ? halt : halt.substring(0, at)).toUpperCase(Locale.ROOT));
            if (step != null) {
                log.warn("{}={}: this server halts itself when a finish reaches that step (crash tests only)",
                        HALT_PROPERTY, halt);
            }
            return new Seam(step, at < 0 ? null : halt.substring(at + 1));
        }

        /** {@code Runtime.halt} runs no shutdown hook and flushes nothing, like {@code kill -9}. */
        void reached(FinishStep step, String id, String filename) {
            if (step == haltAt && (haltFilename == null || haltFilename.equals(filename))) {
                System.out.println("halting at " + step + " of upload " + id);
                System.out.flush();
                Runtime.getRuntime().halt(137);
            }
        }
    }
}
