package io.sluice.isolation;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The last {@code capacity} bytes written to it: a child process's stderr kept for the log without letting a
 * chatty child grow the parent's memory. Thread-safe (one pump thread writes, the job's thread reads).
 */
public final class TailBuffer {

    private final byte[] ring;
    private long written;

    public TailBuffer(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be >= 1");
        }
        this.ring = new byte[capacity];
    }

    public synchronized void write(byte[] b, int off, int len) {
        for (int i = 0; i < len; i++) {
            ring[(int) (written++ % ring.length)] = b[off + i];
        }
    }

    /** Copies {@code in} into this buffer until end of stream or an I/O error (a killed child closes its pipe). */
    public void drain(InputStream in) {
        byte[] buf = new byte[4096];
        try (in) {
            int n;
            while ((n = in.read(buf)) >= 0) {
                write(buf, 0, n);
            }
        } catch (IOException ignored) {
            // The process went away; what was read is what there is.
        }
    }

    /** Bytes written in total, including those no longer kept. */
    public synchronized long written() {
        return written;
    }

    /** What is kept, as UTF-8 (a character cut at the start shows as a replacement character). */
    public synchronized String text() {
        int kept = (int) Math.min(written, ring.length);
        byte[] out = new byte[kept];
        long start = written - kept;
        for (int i = 0; i < kept; i++) {
            out[i] = ring[(int) ((start + i) % ring.length)];
        }
        String s = new String(out, StandardCharsets.UTF_8);
        return written > kept ? "..." + s : s;
    }

    /** The last {@code n} lines of {@link #text()}, for an error message. */
    public String lastLines(int n) {
        String[] lines = text().strip().split("\\R");
        int from = Math.max(0, lines.length - n);
        return String.join("\n", Arrays.asList(lines).subList(from, lines.length));
    }
}
