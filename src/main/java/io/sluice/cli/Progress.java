package io.sluice.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Progress bars for an upload run: one line per file and one for all. On a terminal the block is redrawn in place
 * (ANSI cursor-up and erase-line); otherwise plain lines are printed now and then, only when something moved, so a
 * log stays short. Notices printed through {@link #note} never tear the block.
 */
final class Progress implements AutoCloseable {

    private static final int BAR = 24;

    private final PrintWriter out;
    private final boolean tty;
    private final boolean showBars;
    private final List<Bar> bars;
    private final Duration every;
    private final long startNanos = System.nanoTime();
    private int drawnLines;
    private String lastPlain = "";
    private final Thread ticker;

    /** @param showBars false for {@code --no-progress}: only the lines given to {@link #note} are printed */
    Progress(PrintWriter out, boolean tty, boolean showBars, List<Bar> bars) {
        this.out = out;
        this.tty = tty && showBars;
        this.showBars = showBars;
        this.bars = bars;
        this.every = tty ? Duration.ofMillis(200) : Duration.ofSeconds(2);
        this.ticker = Thread.ofPlatform().daemon().name("sluice-progress").start(this::tick);
    }

    /** One file: its name, size, bytes done and a word on where it is. */
    static final class Bar {
        final String name;
        final long size;
        final AtomicLong done = new AtomicLong();
        volatile String status = "waiting";

        Bar(String name, long size) {
            this.name = name;
            this.size = size;
        }
    }

    private void tick() {
        try {
            while (!Thread.currentThread().isInterrupted()) {
                Thread.sleep(every);
                draw();
            }
        } catch (InterruptedException stopped) {
            // closed
        }
    }

    /** Prints a line above the bars. */
    synchronized void note(String line) {
        up();
        out.println(tty ? "\r\033[2K" + line : line);
        if (tty) {
            drawBlock();
        }
        out.flush();
    }

    synchronized void draw() {
        if (!showBars) {
            return;
        }
        if (tty) {
            up();
            drawBlock();
        } else {
            String text = String.join("\n", lines());
            if (!text.equals(lastPlain)) {
                out.println(text);
                lastPlain = text;
            }
        }
        out.flush();
    }

    /** Moves the cursor back to the first line of the block drawn last, which the next lines overwrite. */
    private void up() {
        if (tty && drawnLines > 0) {
            out.print("\033[" + drawnLines + "A");
            drawnLines = 0;
        }
    }

    private void drawBlock() {
        List<String> lines = lines();
        for (String l : lines) {
            out.print("\r\033[2K" + l + "\n");
        }
        drawnLines = lines.size();
    }

    private List<String> lines() {
        int width = bars.stream().mapToInt(b -> b.name.length()).max().orElse(5);
        width = Math.min(Math.max(width, 5), 40);
        ArrayList<String> lines = new ArrayList<>();
        long total = 0;
        long done = 0;
        for (Bar b : bars) {
            lines.add(line(b.name, width, b.done.get(), b.size, b.status));
            total += b.size;
            done += b.done.get();
        }
        double secs = (System.nanoTime() - startNanos) / 1e9;
        String rate = secs > 0.5 ? human((long) (done / secs)) + "/s" : "";
        lines.add(line("total", width, done, total, rate));
        return lines;
    }

    private static String line(String name, int width, long done, long size, String status) {
        int pct = size == 0 ? 100 : (int) (done * 100 / size);
        int filled = pct * BAR / 100;
        String shown = name.length() > width ? "…" + name.substring(name.length() - width + 1) : name;
        return String.format(Locale.ROOT, "%-" + width + "s [%s%s] %3d%% %10s / %-10s %s", shown,
                "#".repeat(filled), ".".repeat(BAR - filled), pct, human(done), human(size),
                status);
    }

    /** Bytes for people: {@code 512 B}, {@code 1.5 MiB}. */
    static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int i = -1;
        while (v >= 1024 && i < units.length - 1) {
            v /= 1024;
            i++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[i]);
    }

    /** Stops the ticker and draws the final state once more. */
    @Override
    public void close() {
        ticker.interrupt();
        try {
            ticker.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        draw();
    }
}
