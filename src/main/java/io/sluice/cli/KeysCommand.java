package io.sluice.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.Application;
import io.sluice.auth.ApiKey;
import io.sluice.auth.ApiKeys;
import io.sluice.config.ConfigException;
import io.sluice.config.ConfigLoader;
import io.sluice.config.SluiceConfig;
import io.sluice.config.Units;
import io.sluice.db.Database;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code sluice keys create|list|revoke}: API keys, managed on the configured database directly (the same
 * configuration sources as {@code serve}), so it works with the server running or stopped. A running server sees
 * a new or revoked key within a few seconds (its key cache period).
 */
@Command(name = "keys", mixinStandardHelpOptions = true, description = "Create, list and revoke API keys.",
        subcommands = {KeysCommand.Create.class, KeysCommand.ListKeys.class, KeysCommand.Revoke.class})
public final class KeysCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Finds the database as {@code serve} would, runs the work, closes it. Exit 2 for a bad configuration. */
    abstract static class KeysCall implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--config", paramLabel = "FILE", description = "YAML configuration file (default: ./sluice.yaml if present)")
        Path configFile;

        @Option(names = "--data", paramLabel = "DIR", description = "dataDir")
        String dataDir;

        @Option(names = "--set", paramLabel = "KEY=VALUE", description = "any configuration key")
        Map<String, String> settings = new LinkedHashMap<>();

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            Map<String, String> overrides = new LinkedHashMap<>(settings);
            if (dataDir != null) {
                overrides.put("dataDir", dataDir);
            }
            Path file = configFile != null ? configFile
                    : (Files.isRegularFile(ServeCommand.DEFAULT_CONFIG) ? ServeCommand.DEFAULT_CONFIG : null);
            SluiceConfig config;
            try {
                config = ConfigLoader.load(file, System.getenv(), overrides);
            } catch (ConfigException e) {
                err.println("sluice: configuration error: " + e.getMessage());
                err.flush();
                return Main.EXIT_CONFIG;
            }
            try (Database db = Application.openDatabase(config)) {
                int code = run(new ApiKeys(db, Clock.systemUTC()), out, err);
                out.flush();
                err.flush();
                return code;
            }
        }

        abstract int run(ApiKeys keys, PrintWriter out, PrintWriter err) throws Exception;
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Create a key and print it once (it is stored hashed and cannot be shown again).")
    static final class Create extends KeysCall {
        @Option(names = "--name", required = true, description = "what the key is for")
        String name;

        @Option(names = "--max-file-size", paramLabel = "S", description = "this key's file size limit (overrides limits.maxFileSize), e.g. 5GiB")
        String maxFileSize;

        @Option(names = "--quota", paramLabel = "S", description = "total bytes this key may store, e.g. 100GiB")
        String quota;

        @Option(names = "--rate", paramLabel = "R", description = "requests per second")
        Integer rate;

        @Option(names = "--admin", description = "may manage keys and see every key's uploads and jobs")
        boolean admin;

        @Override
        int run(ApiKeys keys, PrintWriter out, PrintWriter err) throws Exception {
            ApiKey.Spec s;
            try {
                s = new ApiKey.Spec(name, admin, size(maxFileSize), size(quota), rate);
            } catch (IllegalArgumentException e) {
                err.println("sluice: " + e.getMessage());
                return Main.EXIT_CONFIG;
            }
            ApiKey.Created created = keys.create(s);
            out.println("id:  " + created.key().id());
            out.println("key: " + created.secret());
            err.println("sluice: store the key now; it is not shown again. Send it as 'Authorization: Bearer <key>'.");
            return 0;
        }

        private static Long size(String text) {
            return text == null ? null : Units.parseSize(text);
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List keys (never their secrets).")
    static final class ListKeys extends KeysCall {
        @Option(names = "--json", description = "Print a JSON array for scripts (sizes in bytes, times ISO-8601).")
        boolean json;

        @Override
        int run(ApiKeys keys, PrintWriter out, PrintWriter err) throws Exception {
            if (json) {
                ArrayNode all = JSON.createArrayNode();
                for (ApiKey k : keys.list()) {
                    ObjectNode o = all.addObject().put("id", k.id()).put("name", k.name()).put("prefix", k.prefix())
                            .put("admin", k.admin()).put("revoked", k.revoked());
                    o.put("maxFileSize", k.maxFileSize()).put("quotaBytes", k.quotaBytes())
                            .put("ratePerSecond", k.ratePerSecond()).put("createdAt", time(k.createdAt()))
                            .put("lastUsedAt", nullable(k.lastUsedAt())).put("revokedAt", nullable(k.revokedAt()));
                }
                out.println(all.toPrettyString());
                return 0;
            }
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[]{"ID", "NAME", "PREFIX", "ROLE", "MAX FILE", "QUOTA", "RATE", "CREATED", "LAST USED",
                    "STATUS"});
            for (ApiKey k : keys.list()) {
                rows.add(new String[]{k.id(), k.name(), k.prefix(), k.admin() ? "admin" : "user",
                        k.maxFileSize() == null ? "-" : Units.formatSize(k.maxFileSize()),
                        k.quotaBytes() == null ? "-" : Units.formatSize(k.quotaBytes()),
                        k.ratePerSecond() == null ? "-" : k.ratePerSecond() + "/s", time(k.createdAt()),
                        time(k.lastUsedAt()), k.revoked() ? "revoked " + time(k.revokedAt()) : "active"});
            }
            Table.print(out, rows);
            return 0;
        }

        private static final ObjectMapper JSON = new ObjectMapper();

        private static String nullable(Instant t) {
            return t == null ? null : t.toString();
        }

        private static String time(Instant t) {
            return t == null ? "-" : t.toString();
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true,
            description = "Revoke a key; a running server refuses it within a few seconds.")
    static final class Revoke extends KeysCall {
        @Parameters(paramLabel = "ID", description = "the key's id (see keys list)")
        String id;

        @Override
        int run(ApiKeys keys, PrintWriter out, PrintWriter err) throws Exception {
            Optional<ApiKey> key = keys.revoke(id);
            if (key.isEmpty()) {
                err.println("sluice: no key " + id);
                return ClientExit.FAILED;
            }
            out.println("revoked " + key.get().id() + " (" + key.get().name() + ")");
            return 0;
        }
    }
}
