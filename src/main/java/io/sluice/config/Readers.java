package io.sluice.config;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Value readers: how a key's text becomes a typed value (sizes, durations, booleans, fractions, lists, hosts,
 * URLs...) and the rule it must satisfy. Each {@link Rejected} message is the rule, worded to follow
 * {@code "'<value>' "}; {@link ConfigLoader} adds the key name.
 */
final class Readers {

    private Readers() {
    }

    /** A refusal from a reader; {@link ConfigLoader#load} adds the key and turns it into a {@link ConfigException}. */
    static final class Rejected extends Exception {
        /** The offending part (one list element), or null when the whole value is at fault. */
        final String value;

        Rejected(String rule) {
            this(null, rule);
        }

        Rejected(String value, String rule) {
            super(rule, null, false, false);
            this.value = value;
        }
    }

    @FunctionalInterface
    interface Conv<T> {
        /** Converts one stripped, non-null scalar. */
        T from(String text) throws Rejected;
    }

    @FunctionalInterface
    interface Reader<T> {
        T read(Raw raw) throws Rejected;
    }

    static <T> Key<T> scalar(String name, T defaultValue, Conv<T> conv, Function<? super T, String> show,
                                     String help) {
        Reader<T> reader = raw -> switch (raw) {
            case Raw.Text t -> conv.from(t.text().strip());
            case Raw.Items i -> throw new Rejected("must be a single value, not a list");
        };
        return new Key<>(name, defaultValue, reader, show, help);
    }

    /** A list key: a YAML sequence or a comma-separated string; blanks dropped, duplicates removed. */
    static Key<List<String>> list(String name, Conv<String> element, String help) {
        Reader<List<String>> reader = raw -> {
            List<String> items = switch (raw) {
                case Raw.Text t -> List.of(t.text().split(","));
                case Raw.Items i -> i.items();
            };
            Set<String> out = new LinkedHashSet<>();
            for (String item : items) {
                String stripped = item.strip();
                if (!stripped.isEmpty()) {
                    out.add(element.from(stripped));
                }
            }
            return List.copyOf(out);
        };
        return new Key<>(name, List.of(), reader, l -> String.join(",", l), help);
    }

    static String nonBlank(String text) throws Rejected {
        if (text.isEmpty()) {
            throw new Rejected("must not be blank");
        }
        return text;
    }

    static Path path(String text) throws Rejected {
        nonBlank(text);
        try {
            return Path.of(text);
        } catch (InvalidPathException e) {
            throw new Rejected("is not a valid path (" + e.getReason() + ")");
        }
    }

    static final Pattern WHOLE_NUMBER = Pattern.compile("[+-]?\\d+");

    static Conv<Integer> integer(int min, int max) {
        String range = max == Integer.MAX_VALUE ? "must be at least " + min : "must be between " + min + " and " + max;
        return text -> {
            if (!WHOLE_NUMBER.matcher(text).matches()) {
                throw new Rejected("is not a whole number");
            }
            BigInteger n = new BigInteger(text);
            if (n.compareTo(BigInteger.valueOf(min)) < 0 || n.compareTo(BigInteger.valueOf(max)) > 0) {
                throw new Rejected(range);
            }
            return n.intValueExact();
        };
    }

    static Conv<Long> size(long min, long max) {
        String range = max == Long.MAX_VALUE
                ? (min == 0 ? "must not be negative" : "must be at least " + Units.formatSize(min))
                : "must be between " + Units.formatSize(min) + " and " + Units.formatSize(max);
        return text -> {
            long bytes;
            try {
                bytes = Units.parseSize(text);
            } catch (Units.TooLarge e) {
                throw new Rejected("is too large (at most " + Long.MAX_VALUE + " bytes)");
            } catch (IllegalArgumentException e) {
                if (isNegatedSize(text)) {
                    throw new Rejected(range);
                }
                throw new Rejected("is not a size (examples: 10MB, 512KiB, 5GiB)");
            }
            if (bytes < min || bytes > max) {
                throw new Rejected(range);
            }
            return bytes;
        };
    }

    /** "-5MB" deserves "must be at least ..." rather than "is not a size". */
    static boolean isNegatedSize(String text) {
        if (!text.startsWith("-")) {
            return false;
        }
        try {
            Units.parseSize(text.substring(1));
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    static Conv<Integer> intSize(long min, long max) {
        Conv<Long> bytes = size(min, max);
        return text -> Math.toIntExact(bytes.from(text));
    }

    /** Sizes per second: a trailing "/s" is accepted as the natural way to write a rate. */
    static Conv<Long> rate() {
        Conv<Long> bytes = size(0, Long.MAX_VALUE);
        return text -> {
            String lower = text.toLowerCase(Locale.ROOT);
            return bytes.from(lower.endsWith("/s") ? text.substring(0, text.length() - 2).strip() : text);
        };
    }

    static Conv<Duration> duration(Duration min, Duration max) {
        String range = max == null
                ? (min.isZero() ? "must not be negative" : "must be at least " + Units.formatDuration(min))
                : "must be between " + Units.formatDuration(min) + " and " + Units.formatDuration(max);
        return text -> {
            if (text.startsWith("-")) {
                throw new Rejected(range);
            }
            Duration d;
            try {
                d = Units.parseDuration(text);
            } catch (Units.TooLarge e) {
                throw new Rejected(range);
            } catch (IllegalArgumentException e) {
                throw new Rejected("is not a duration (examples: 500ms, 30s, 5m, 1m30s)");
            }
            if (d.compareTo(min) < 0 || (max != null && d.compareTo(max) > 0)) {
                throw new Rejected(range);
            }
            return d;
        };
    }

    static final Pattern FRACTION = Pattern.compile("(\\d+(?:\\.\\d*)?|\\.\\d+)\\s*(%?)");

    static double fraction(String text) throws Rejected {
        var m = FRACTION.matcher(text);
        String rule = "must be a fraction above 0 and at most 1, or a percentage (examples: 0.85, 85%)";
        if (!m.matches()) {
            throw new Rejected(rule);
        }
        double value = Double.parseDouble(m.group(1)) / (m.group(2).isEmpty() ? 1 : 100);
        if (!(value > 0 && value <= 1)) {
            throw new Rejected(rule);
        }
        return value;
    }

    /** As {@link #fraction}, 0 allowed: an alert threshold of 0 fires at once (what tests and drills want). */
    static double fractionOrZero(String text) throws Rejected {
        var m = FRACTION.matcher(text);
        String rule = "must be a fraction from 0 to 1, or a percentage (examples: 0.8, 80%)";
        if (!m.matches()) {
            throw new Rejected(rule);
        }
        double value = Double.parseDouble(m.group(1)) / (m.group(2).isEmpty() ? 1 : 100);
        if (!(value >= 0 && value <= 1)) {
            throw new Rejected(rule);
        }
        return value;
    }

    static String showFraction(double value) {
        return BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
    }

    static final List<String> LEVELS = List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR");

    static String level(String text) throws Rejected {
        String upper = text.toUpperCase(Locale.ROOT);
        if (!LEVELS.contains(upper)) {
            throw new Rejected("is not a log level (one of " + String.join(", ", LEVELS) + ")");
        }
        return upper;
    }

    static boolean bool(String text) throws Rejected {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "true", "yes", "1" -> true;
            case "false", "no", "0" -> false;
            default -> throw new Rejected("is not a boolean (true/false, yes/no, 1/0)");
        };
    }

    // Host names per RFC 1123 labels, dotted IPv4 (same shape), or a bracketed IPv6 literal.
    static final String LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
    static final String HOST = "(?:" + LABEL + "(?:\\." + LABEL + ")*|\\[[0-9a-f:.]+\\])";
    static final Pattern ORIGIN = Pattern.compile("https?://" + HOST + "(?::(\\d{1,5}))?");
    static final Pattern TRUSTED_HOST = Pattern.compile("(?:\\*\\.)?" + HOST + "(?::(\\d{1,5}))?");
    static final Pattern MIME = Pattern.compile(
            "[a-z0-9][a-z0-9!#$&^_.+-]*/(?:[a-z0-9][a-z0-9!#$&^_.+-]*|\\*)");

    static final Pattern BASE_PATH = Pattern.compile("(/[A-Za-z0-9._-]+)+/?");

    static String basePath(String text) throws Rejected {
        if (!BASE_PATH.matcher(text).matches() || text.contains("/./") || text.contains("/../")
                || text.endsWith("/.") || text.endsWith("/..")) {
            throw new Rejected("is not a path like /files/ (segments of letters, digits, '-', '_', '.')");
        }
        String normalized = text.endsWith("/") ? text : text + "/";
        if (normalized.startsWith("/api/") || normalized.startsWith("/health/") || normalized.equals("/metrics/")) {
            throw new Rejected("collides with Sluice's own endpoints (/api/, /health, /metrics)");
        }
        return normalized;
    }

    static String origin(String text) throws Rejected {
        if (text.equals("*")) {
            return text;
        }
        String lower = text.toLowerCase(Locale.ROOT);
        var m = ORIGIN.matcher(lower);
        if (!m.matches() || !validPort(m.group(1))) {
            throw new Rejected(text, "is not an origin (expected * or http(s)://host[:port], no path)");
        }
        return lower;
    }

    static String trustedHost(String text) throws Rejected {
        String lower = text.toLowerCase(Locale.ROOT);
        var m = TRUSTED_HOST.matcher(lower);
        if (!m.matches() || !validPort(m.group(1))) {
            throw new Rejected(text, "is not a host name (expected host[:port] or *.example.com, no scheme or path)");
        }
        return lower;
    }

    static boolean validPort(String port) {
        return port == null || (Integer.parseInt(port) >= 1 && Integer.parseInt(port) <= 65535);
    }

    /** A constant of {@code type}, written in any case ({@code s3}, {@code S3}). */
    static <E extends Enum<E>> E oneOf(String text, Class<E> type) throws Rejected {
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(text)) {
                return e;
            }
        }
        throw new Rejected("is not one of " + Arrays.stream(type.getEnumConstants())
                .map(e -> e.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", ")));
    }

    static final Pattern S3_ENDPOINT = Pattern.compile("https?://" + HOST + "(?::(\\d{1,5}))?/?");
    static final Pattern S3_REGION = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
    static final Pattern S3_BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
    static final Pattern S3_PREFIX = Pattern.compile("([A-Za-z0-9._-]+/)*[A-Za-z0-9._-]+/?");

    static String s3Endpoint(String text) throws Rejected {
        if (text.isEmpty()) {
            return text;
        }
        var m = S3_ENDPOINT.matcher(text.toLowerCase(Locale.ROOT));
        if (!m.matches() || !validPort(m.group(1))) {
            throw new Rejected("is not an endpoint URL (expected http(s)://host[:port], no path)");
        }
        return text.endsWith("/") ? text.substring(0, text.length() - 1) : text;
    }

    static String s3Region(String text) throws Rejected {
        if (!S3_REGION.matcher(text).matches()) {
            throw new Rejected("is not a region name (lower-case letters, digits and '-', e.g. us-east-1)");
        }
        return text;
    }

    static String s3Bucket(String text) throws Rejected {
        if (!text.isEmpty() && (!S3_BUCKET.matcher(text).matches() || text.contains(".."))) {
            throw new Rejected("is not a bucket name (3..63 characters of a-z, 0-9, '.', '-', starting and ending "
                    + "with a letter or digit)");
        }
        return text;
    }

    static String s3Prefix(String text) throws Rejected {
        if (text.isEmpty()) {
            return text;
        }
        if (!S3_PREFIX.matcher(text).matches() || text.equals(".") || text.contains("./") || text.startsWith(".")) {
            throw new Rejected("is not a key prefix (segments of letters, digits, '.', '_', '-' separated by '/', "
                    + "no leading '/', no '.' or '..' segments)");
        }
        return text.endsWith("/") ? text : text + "/";
    }

    static String mimeType(String text) throws Rejected {
        String lower = text.toLowerCase(Locale.ROOT);
        if (!MIME.matcher(lower).matches()) {
            throw new Rejected(text, "is not a MIME type (expected type/subtype, type/* or type/subtype+subtypes, "
                    + "e.g. image/png, image/*, text/plain+subtypes)");
        }
        return lower;
    }

    /** Empty (SQLite) or a PostgreSQL JDBC URL; the URL may hold a password, so a refusal does not echo it. */
    static String databaseUrl(String text) throws Rejected {
        if (!text.isEmpty() && !text.startsWith("jdbc:postgresql:")) {
            String scheme = text.contains(":") && text.startsWith("jdbc:")
                    ? text.substring(0, text.indexOf(':', 5) < 0 ? text.length() : text.indexOf(':', 5)) : "(hidden)";
            throw new Rejected(scheme, "is not supported: database.url must be empty (SQLite in the data "
                    + "directory) or a PostgreSQL URL jdbc:postgresql://host[:port]/database");
        }
        return text;
    }

    static String secret(String text) throws Rejected {
        if (!text.isEmpty() && text.length() < WebhooksConfig.MIN_SECRET_LENGTH) {
            // The value itself is never echoed: it is a credential.
            throw new Rejected("(hidden)", "must be empty or at least " + WebhooksConfig.MIN_SECRET_LENGTH
                    + " characters long");
        }
        return text;
    }

    static String jwtSecret(String text) throws Rejected {
        if (!JwtConfig.secretLongEnough(text)) {
            // The value itself is never echoed: it is a credential.
            throw new Rejected("(hidden)", "must be empty or at least " + JwtConfig.MIN_SECRET_BYTES
                    + " bytes long (HS256 needs a key as long as its hash)");
        }
        return text;
    }

    static String notifyUrl(String text) throws Rejected {
        String rule = "is not an http(s) URL (expected http(s)://host[:port]/path)";
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw new Rejected(text, rule);
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null || uri.getFragment() != null) {
            throw new Rejected(text, rule);
        }
        return text;
    }

    static String staticDir(String text) throws Rejected {
        if (text.isEmpty()) {
            return text;
        }
        Path dir = path(text);
        // Checked now: a typo in the path should stop start-up, not turn the landing page into 404s.
        if (!Files.isDirectory(dir)) {
            throw new Rejected("is not an existing directory");
        }
        return text;
    }
}
