package io.sluice.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Small shared helpers for the benchmark clients: arguments, sizes, statistics, JSON fields, output. */
final class BenchSupport {

    private BenchSupport() {
    }

    /** {@code --key value} pairs; a repeated key keeps every value. */
    static final class Args {
        private final Map<String, List<String>> values = new HashMap<>();

        Args(String[] argv) {
            for (int i = 0; i < argv.length; i++) {
                String a = argv[i];
                if (!a.startsWith("--")) {
                    throw new IllegalArgumentException("unexpected argument '" + a + "'");
                }
                String key = a.substring(2);
                String value;
                int eq = key.indexOf('=');
                if (eq >= 0) {
                    value = key.substring(eq + 1);
                    key = key.substring(0, eq);
                } else {
                    if (i + 1 >= argv.length) {
                        throw new IllegalArgumentException("--" + key + " needs a value");
                    }
                    value = argv[++i];
                }
                values.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
            }
        }

        String get(String key, String dflt) {
            List<String> v = values.get(key);
            return v == null ? dflt : v.getLast();
        }

        String require(String key) {
            String v = get(key, null);
            if (v == null) {
                throw new IllegalArgumentException("--" + key + " is required");
            }
            return v;
        }

        List<String> all(String key) {
            return values.getOrDefault(key, List.of());
        }

        int integer(String key, int dflt) {
            String v = get(key, null);
            return v == null ? dflt : Integer.parseInt(v.strip());
        }

        long size(String key, long dflt) {
            String v = get(key, null);
            return v == null ? dflt : parseSize(v);
        }
    }

    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([KMGT]?)(i?)B?", Pattern.CASE_INSENSITIVE);

    /** {@code 4GiB}, {@code 10MiB}, {@code 512MB}, or a number of bytes. */
    static long parseSize(String text) {
        Matcher m = SIZE.matcher(text.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a size: '" + text + "' (use e.g. 4GiB, 10MiB, 1048576)");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2).toUpperCase(Locale.ROOT);
        boolean binary = !m.group(3).isEmpty() || unit.isEmpty();
        int exp = switch (unit) {
            case "K" -> 1;
            case "M" -> 2;
            case "G" -> 3;
            case "T" -> 4;
            default -> 0;
        };
        long base = binary ? 1024 : 1000;
        for (int i = 0; i < exp; i++) {
            n = Math.multiplyExact(n, base);
        }
        return n;
    }

    static String formatBytes(long bytes) {
        if (bytes < 0) {
            return "n/a";
        }
        if (bytes >= 1L << 30) {
            return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
        }
        if (bytes >= 1L << 20) {
            return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
        }
        return String.format(Locale.ROOT, "%d KiB", bytes >> 10);
    }

    /** Megabytes (10^6 bytes, as dd prints them) per second. */
    static double mbPerSecond(long bytes, long nanos) {
        return bytes / 1e6 / (nanos / 1e9);
    }

    static double median(double[] values) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] s = values.clone();
        Arrays.sort(s);
        int mid = s.length / 2;
        return s.length % 2 == 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
    }

    /** Nearest-rank percentile of sorted values, {@code p} in 0..100. */
    static long percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return -1;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    /** A string field of a flat JSON answer, e.g. {@code "id":"..."}; null when absent. */
    static String jsonString(String json, String field) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(field) + "\"\\s*:\\s*\"([^\"]*)\"").matcher(json);
        return m.find() ? m.group(1) : null;
    }

    /** A numeric field of a JSON answer (first occurrence); -1 when absent. */
    static long jsonLong(String json, String field) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(field) + "\"\\s*:\\s*(-?\\d+)").matcher(json);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    /** The 1-minute load average, or "?" when /proc is not there. */
    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "?";
        }
    }

    /** USER_HZ, the unit of utime and stime in /proc/<pid>/stat; 100 on every Linux this runs on. */
    static final long CLOCK_TICKS_PER_SECOND = 100;

    /** CPU time of process {@code pid} (user + system, all threads) from /proc, or -1 when unknown. */
    static long cpuNanos(long pid) {
        long[] us = cpuSplitNanos(pid);
        return us == null ? -1 : us[0] + us[1];
    }

    /** {user, system} CPU time of process {@code pid} (all threads) from /proc, or null when unknown. */
    static long[] cpuSplitNanos(long pid) {
        if (pid <= 0) {
            return null;
        }
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long tick = 1_000_000_000L / CLOCK_TICKS_PER_SECOND;
            return new long[] {Long.parseLong(f[11]) * tick, Long.parseLong(f[12]) * tick}; // utime, stime (14, 15)
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** A {@code kB} field of /proc/<pid>/status (VmRSS, VmHWM, ...) in bytes, or -1 when unknown. */
    static long procStatusBytes(long pid, String field) {
        if (pid <= 0) {
            return -1;
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith(field + ":")) {
                    String v = line.substring(field.length() + 1).strip();
                    return Long.parseLong(v.substring(0, v.indexOf(' '))) * 1024;
                }
            }
            return -1;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    static String fmt(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    static String fmt2(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }

    /** Prints a line and appends it to the summary file when one was given. */
    static final class Report {
        private final Path summary;

        Report(String summaryFile) {
            this.summary = summaryFile == null ? null : Path.of(summaryFile);
        }

        void line(String s) {
            System.out.println(s);
            System.out.flush();
            if (summary != null) {
                try {
                    Files.writeString(summary, s + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                            StandardOpenOption.APPEND);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
    }

    static void log(String s) {
        System.out.println("  " + s);
        System.out.flush();
    }
}
