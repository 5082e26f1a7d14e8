package io.sluice.tus;

import io.sluice.upload.ResumableService;
import io.sluice.upload.ResumableService.Body;
import io.sluice.upload.ResumableService.Checksum;
import io.sluice.upload.ResumableService.Completion;
import io.sluice.upload.ResumableService.Concatenation;
import io.sluice.upload.ResumableService.NewUpload;

import java.sql.SQLException;

/**
 * What a resumable request asks, whichever protocol carried it. The protocol adapters ({@link TusProtocol},
 * {@link IetfDraft}) parse their headers into one of these; {@link ResumableHttp} runs it against
 * {@link ResumableService} under admission; the adapter renders the outcome.
 */
sealed interface ResumableRequest {

    /**
     * Create an upload; when {@code first} is not null the request's body is its first append.
     *
     * @param reserve the bytes admission reserves: what this request writes, not the upload's length
     */
    record Create(NewUpload upload, FirstAppend first, long reserve) implements ResumableRequest {
    }

    /**
     * The append a creation request carries.
     *
     * @param body opened once the upload exists (what the caller's quota has left is read then)
     */
    record FirstAppend(Completion completion, Checksum checksum, BodySource body) {
    }

    /** Append the body at an offset; the append may finish the upload. */
    record Append(ResumableService.Append append, Body body) implements ResumableRequest {
    }

    /** Ask for the offset (a resuming client's first question). */
    record Offset(String id) implements ResumableRequest {
    }

    /** Remove the upload and its bytes. */
    record Terminate(String id) implements ResumableRequest {
    }

    /** Build a final upload from finished partial uploads (tus concatenation). */
    record Concat(Concatenation concatenation) implements ResumableRequest {
    }

    @FunctionalInterface
    interface BodySource {
        Body open() throws SQLException;
    }
}
