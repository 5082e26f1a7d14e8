package io.sluice.api;

import org.eclipse.jetty.http.MultiPart;

import java.io.IOException;
import java.util.Map;

/**
 * A multipart listener that does not lose failures. Jetty's parser swallows exceptions thrown by listeners, so the
 * first one is kept here and the reader checks {@link #throwIfFailed()} after every chunk it parses; a body that
 * ends before its closing boundary is refused by {@link #requireComplete()}.
 */
public abstract class StrictPartsListener extends MultiPart.AbstractPartsListener {

    /** Headers of one part (name, filename, type) are small; a larger block is an attack or a broken client. */
    public static final int MAX_PART_HEADERS_BYTES = 8 * 1024;
    /** Form fields one body may carry besides its files. */
    public static final int MAX_FIELDS = 64;

    /** Files one body may carry; a further file part is the subclass's 413 {@code too_many_files}. */
    protected final int maxFiles;
    private boolean complete;
    private Exception failure;

    @Override
    public void onComplete() {
        complete = true;
    }

    @Override
    public void onFailure(Throwable cause) {
        fail(ErrorCode.MALFORMED_MULTIPART.error("the multipart body is malformed: " + cause.getMessage()));
    }

    protected StrictPartsListener(int maxFiles) {
        this.maxFiles = maxFiles;
    }

    /** Parts this listener accepts in one body (files, fields and one spare); the parser refuses more. */
    private long maxParts() {
        return maxFiles + MAX_FIELDS + 1L;
    }

    /** The refusal of a form field beyond {@link #MAX_FIELDS}. */
    protected static ApiException tooManyFields() {
        return ErrorCode.TOO_MANY_FIELDS.error("at most " + MAX_FIELDS + " form fields may be sent",
                Map.of("limit", MAX_FIELDS));
    }

    /** A parser for {@code boundary} that feeds this listener, with the part limits applied. */
    public final MultiPart.Parser parser(String boundary) {
        MultiPart.Parser parser = new MultiPart.Parser(boundary, this);
        parser.setPartHeadersMaxLength(MAX_PART_HEADERS_BYTES);
        parser.setMaxParts(maxParts());
        return parser;
    }

    /** Keeps {@code e} unless a failure was already recorded (the first one is the cause). */
    protected final void fail(Exception e) {
        if (failure == null) {
            failure = e;
        }
    }

    /** Whether a failure was recorded: the rest of the body is then only drained. */
    protected final boolean failed() {
        return failure != null;
    }

    /** Rethrows the first failure seen by the listener. */
    public final void throwIfFailed() throws IOException {
        switch (failure) {
            case null -> {
            }
            case ApiException api -> throw api;
            case IOException io -> throw io;
            case RuntimeException re -> throw re;
            default -> throw new IOException(failure);
        }
    }

    /** After the body ended: rethrows a failure, or refuses a body without its closing boundary. */
    protected final void requireComplete() throws IOException {
        throwIfFailed();
        if (!complete) {
            throw ErrorCode.MALFORMED_MULTIPART.error("the multipart body ended before its closing boundary");
        }
    }
}
