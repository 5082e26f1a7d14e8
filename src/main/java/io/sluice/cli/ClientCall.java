package io.sluice.cli;

import io.sluice.client.ClientException;
import io.sluice.client.SluiceClient;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;

/**
 * A client subcommand: runs a call against the server, turning a refusal (or a local file that cannot be written)
 * into one line on stderr and exit 1.
 */
abstract class ClientCall implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ClientOptions clientOptions;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            int code = run(clientOptions.client(err), out, err);
            out.flush();
            return code;
        } catch (ClientException | IOException e) {
            out.flush();
            err.println("sluice: " + e.getMessage());
            err.flush();
            return ClientExit.FAILED;
        }
    }

    /** @return the exit code; by default {@link ClientExit#OK} */
    int run(SluiceClient client, PrintWriter out, PrintWriter err)
            throws ClientException, IOException, InterruptedException {
        run(client, out);
        return ClientExit.OK;
    }

    void run(SluiceClient client, PrintWriter out) throws ClientException, IOException, InterruptedException {
        throw new UnsupportedOperationException();
    }
}
