package io.sluice.http;

import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.QuotedCSV;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Refuses a request body sent with a transfer coding other than {@code chunked}: {@code 501
 * unsupported_transfer_encoding} (RFC 9112 section 6.1). Jetty decodes the chunking and hands the rest on as if it
 * were the content, so {@code Transfer-Encoding: gzip, chunked} would store the compressed bytes as the file. A
 * coding list whose last entry is not {@code chunked} has no length at all; Jetty answers that with 400 before any
 * handler runs, as the RFC requires.
 */
final class TransferCodings extends Handler.Wrapper {

    TransferCodings(Handler next) {
        super(next);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        for (String value : request.getHeaders().getValuesList(HttpHeader.TRANSFER_ENCODING)) {
            for (String coding : new QuotedCSV(value).getValues()) {
                if (!"chunked".equals(coding.toLowerCase(Locale.ROOT))) {
                    // The body is not read: the connection cannot be reused.
                    response.getHeaders().put(HttpHeader.CONNECTION, "close");
                    Router.writeError(request, response, callback, ErrorCode.UNSUPPORTED_TRANSFER_ENCODING.error(
                            "only the chunked transfer coding is supported, not '"
                            + coding + "'", Map.of("supported", List.of("chunked"))));
                    return true;
                }
            }
        }
        return super.handle(request, response, callback);
    }
}
