package io.sluice.tus;

import io.sluice.admission.AdmissionController;
import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import io.sluice.api.Exchange;
import io.sluice.api.Route;
import io.sluice.api.Routes;
import io.sluice.upload.ResumableException;
import io.sluice.upload.ResumableService;
import org.eclipse.jetty.http.HttpHeader;

import java.util.List;
import java.util.Locale;

/**
 * The resumable-upload resources ({@code <basePath>} and {@code <basePath>{id}}) and which protocol answers each
 * request: the IETF resumable-upload draft ({@link IetfDraft}) when it carries
 * {@code Upload-Draft-Interop-Version}, tus 1.0.0 ({@link TusProtocol}) otherwise. Both are thin adapters over
 * {@link ResumableService} that share {@link ResumableHttp}.
 */
public final class TusApi {

    public static final String VERSION = TusProtocol.VERSION;
    public static final String OFFSET_OCTET_STREAM = ResumableHttp.OFFSET_OCTET_STREAM;
    /** Exposed to browsers by CORS: what tus-js-client and the IETF draft read. */
    public static final List<String> HEADERS = List.of("Tus-Resumable", "Tus-Version", "Tus-Extension",
            "Tus-Max-Size", "Tus-Checksum-Algorithm", "Upload-Offset", "Upload-Length", "Upload-Metadata",
            "Upload-Defer-Length", "Upload-Concat", "Upload-Expires", "Upload-Complete", "Upload-Limit",
            "Upload-Draft-Interop-Version", "Sluice-Upload-Id", "Sluice-Job-Id", "Sluice-Job-Url");

    private final String basePath;
    private final TusProtocol tus;
    private final IetfDraft ietf;

    /**
     * @param basePath where uploads live ({@code /files/})
     * @param download serves a finished upload's bytes for {@code GET <basePath>{id}}
     */
    public TusApi(ResumableService service, AdmissionController admission, String basePath, int maxMetadataSize,
                  Route download) {
        this.basePath = basePath.endsWith("/") ? basePath : basePath + "/";
        ResumableHttp http = new ResumableHttp(service, admission, this.basePath, maxMetadataSize);
        this.tus = new TusProtocol(http, download);
        this.ietf = new IetfDraft(http);
    }

    public void register(Routes routes) {
        String collection = basePath.substring(0, basePath.length() - 1);
        String item = basePath + "{id}";
        routes.add("OPTIONS", collection, on(ResumableProtocol::options));
        routes.add("OPTIONS", item, on(ResumableProtocol::options));
        routes.add("POST", collection, on(ResumableProtocol::create));
        routes.add("POST", item, this::overridden);
        routes.add("HEAD", item, on(ResumableProtocol::offset));
        routes.add("PATCH", item, on(ResumableProtocol::append));
        routes.add("DELETE", item, on(ResumableProtocol::terminate));
        routes.add("GET", item, ex -> run(tus, ex, (p, e) -> tus.download(e)));
    }

    @FunctionalInterface
    private interface Operation {
        void run(ResumableProtocol protocol, Exchange ex) throws Exception;
    }

    private Route on(Operation operation) {
        return ex -> run(IetfDraft.applies(ex) ? ietf : tus, ex, operation);
    }

    /** Runs {@code operation} in {@code protocol}, which answers the service's failures its way. */
    private static void run(ResumableProtocol protocol, Exchange ex, Operation operation) throws Exception {
        try {
            operation.run(protocol, ex);
        } catch (ResumableException e) {
            protocol.fail(ex, e.failure());
        }
    }

    /** {@code X-HTTP-Method-Override} on a POST to an upload: clients behind proxies that drop PATCH use it. */
    private void overridden(Exchange ex) throws Exception {
        String method = ex.request().getHeaders().get("X-HTTP-Method-Override");
        String m = method == null ? "" : method.strip().toUpperCase(Locale.ROOT);
        switch (m) {
            case "PATCH" -> on(ResumableProtocol::append).handle(ex);
            case "HEAD" -> on(ResumableProtocol::offset).handle(ex);
            case "DELETE" -> on(ResumableProtocol::terminate).handle(ex);
            default -> {
                ex.response().getHeaders().put("Tus-Resumable", VERSION);
                ex.response().getHeaders().put(HttpHeader.ALLOW, "HEAD, PATCH, DELETE, GET, OPTIONS");
                throw ErrorCode.METHOD_NOT_ALLOWED.error("POST to an upload needs "
                        + "X-HTTP-Method-Override: PATCH, HEAD or DELETE");
            }
        }
    }
}
