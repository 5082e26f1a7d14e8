package io.sluice.tus;

import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import io.sluice.api.Exchange;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static io.sluice.tus.ResumableHttp.shorten;

/** A supported interop version of the IETF resumable-upload draft and what it asks of the server. */
enum IetfInterop {

    V5(5, false, false, null, false, false),
    V6(6, true, true, "expires", false, false),
    V8(8, true, true, "max-age", true, true);

    final int number;
    /** Appends must be {@code application/partial-upload}. */
    final boolean partialUploadType;
    /** Responses carry {@code Upload-Limit}. */
    final boolean limits;
    /** The {@code Upload-Limit} key of the remaining lifetime. */
    final String lifetimeKey;
    /** Only {@code Upload-Complete: ?1} completes an upload, never reaching the declared length. */
    final boolean explicitCompletion;
    /** Offset and length errors are RFC 9457 problems. */
    final boolean problemTypes;

    IetfInterop(int number, boolean partialUploadType, boolean limits, String lifetimeKey,
            boolean explicitCompletion, boolean problemTypes) {
        this.number = number;
        this.partialUploadType = partialUploadType;
        this.limits = limits;
        this.lifetimeKey = lifetimeKey;
        this.explicitCompletion = explicitCompletion;
        this.problemTypes = problemTypes;
    }

    static final List<Integer> SUPPORTED = Arrays.stream(values()).map(v -> v.number).toList();

    /** The request's interop version (echoed on every response), or 400 for one this server does not speak. */
    static IetfInterop negotiate(Exchange ex) {
        String raw = ex.request().getHeaders().get(IetfDraft.INTEROP_HEADER);
        String value = raw == null ? "" : raw.strip();
        for (IetfInterop v : values()) {
            if (value.equals(String.valueOf(v.number))) {
                ex.response().getHeaders().put(IetfDraft.INTEROP_HEADER, v.number);
                return v;
            }
        }
        throw ErrorCode.UNSUPPORTED_INTEROP_VERSION.error(IetfDraft.INTEROP_HEADER + " '" + shorten(value)
                + "' is not supported; this server speaks interop versions " + SUPPORTED
                + " of the IETF resumable-upload draft, or tus " + TusProtocol.VERSION + " without that header",
                Map.of("supported", SUPPORTED));
    }
}
