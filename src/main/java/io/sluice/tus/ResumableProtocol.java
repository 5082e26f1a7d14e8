package io.sluice.tus;

import io.sluice.api.Exchange;
import io.sluice.upload.ResumableFailure;

import java.io.IOException;

/**
 * One protocol over the upload resources ({@link TusApi} picks it per request): it parses its headers into a
 * {@link ResumableRequest}, has {@link ResumableHttp} run it, and writes its answer.
 */
interface ResumableProtocol {

    /** {@code OPTIONS}: discovery. */
    void options(Exchange ex) throws Exception;

    /** {@code POST} to the collection: creation (and, in tus, concatenation). */
    void create(Exchange ex) throws Exception;

    /** {@code HEAD}: the offset. */
    void offset(Exchange ex) throws Exception;

    /** {@code PATCH}: an append. */
    void append(Exchange ex) throws Exception;

    /** {@code DELETE}: termination. */
    void terminate(Exchange ex) throws Exception;

    /**
     * Answers a failure of the service that the handler did not answer itself: writes the response, or throws the
     * error the router renders. Implementations switch over every {@link ResumableFailure} variant.
     */
    void fail(Exchange ex, ResumableFailure failure) throws IOException;
}
