package io.sluice.tus;

import io.sluice.api.ApiException;
import io.sluice.api.Exchange;
import io.sluice.upload.ResumableService;

/**
 * The IETF "Resumable Uploads for HTTP" draft on the tus resources, negotiated by
 * {@code Upload-Draft-Interop-Version}. (Being implemented.)
 */
final class IetfDraft {

    static final String INTEROP_HEADER = "Upload-Draft-Interop-Version";

    private final TusApi tus;
    private final ResumableService service;

    IetfDraft(TusApi tus, ResumableService service) {
        this.tus = tus;
        this.service = service;
    }

    static boolean applies(Exchange ex) {
        return ex.request().getHeaders().contains(INTEROP_HEADER);
    }

    void options(Exchange ex) {
        throw unsupported();
    }

    void create(Exchange ex) {
        throw unsupported();
    }

    void head(Exchange ex) {
        throw unsupported();
    }

    void append(Exchange ex) {
        throw unsupported();
    }

    private static ApiException unsupported() {
        return ApiException.badRequest("unsupported_interop_version", "not yet");
    }
}
