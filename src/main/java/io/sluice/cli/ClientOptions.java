package io.sluice.cli;

import io.sluice.client.SluiceClient;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/** Options every client command shares: which server, and the API key. */
final class ClientOptions {

    // The default sits on a line of its own: picocli wraps at '/', and a URL broken in two cannot be copied.
    @Option(names = "--server", paramLabel = "URL", defaultValue = "${env:SLUICE_SERVER:-http://127.0.0.1:8080}",
            description = {"Server base URL; without a scheme, http:// is assumed.",
                    "Default: $SLUICE_SERVER or ${DEFAULT-VALUE}"})
    String server;

    @Option(names = "--key", paramLabel = "K", defaultValue = "${env:SLUICE_KEY}",
            description = "API key, sent as 'Authorization: Bearer K' (default: $SLUICE_KEY).")
    String key;

    /** A client whose retry notices go to {@code notices}. */
    SluiceClient client(PrintWriter notices) {
        return new SluiceClient(baseUri(server), key, line -> {
            notices.println("sluice: " + line);
            notices.flush();
        });
    }

    /**
     * The server's base URL as typed: {@code 127.0.0.1:8080} is taken as {@code http://127.0.0.1:8080}, as curl
     * does. Anything that is still not an http(s) URL with a host is a usage error, not a stack trace.
     */
    static URI baseUri(String server) {
        String s = server.strip();
        if (!s.contains("://")) {
            s = "http://" + s;
        }
        URI uri;
        try {
            uri = new URI(s);
        } catch (URISyntaxException e) {
            throw new UsageException("--server: '" + server + "' is not a URL (" + e.getReason() + ")");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new UsageException("--server: '" + server + "' must be an http:// or https:// URL");
        }
        if (uri.getHost() == null) {
            throw new UsageException("--server: '" + server + "' has no host name");
        }
        return uri;
    }
}
