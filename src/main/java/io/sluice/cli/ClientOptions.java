package io.sluice.cli;

import io.sluice.client.SluiceClient;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.net.URI;

/** Options every client command shares: which server, and the API key. */
final class ClientOptions {

    @Option(names = "--server", paramLabel = "URL", defaultValue = "${env:SLUICE_SERVER:-http://127.0.0.1:8080}",
            description = "Server base URL (default: $SLUICE_SERVER or ${DEFAULT-VALUE}).")
    String server;

    @Option(names = "--key", paramLabel = "K", defaultValue = "${env:SLUICE_KEY}",
            description = "API key, sent as 'Authorization: Bearer K' (default: $SLUICE_KEY).")
    String key;

    /** A client whose retry notices go to {@code notices}. */
    SluiceClient client(PrintWriter notices) {
        return new SluiceClient(URI.create(server), key, line -> {
            notices.println("sluice: " + line);
            notices.flush();
        });
    }
}
