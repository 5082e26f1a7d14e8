package io.sluice.processors.spreadsheet;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Counts the bytes read (for progress), and optionally refuses to read past a budget with
 * {@link BudgetExhausted} (for prechecks, which must read only the start of a file).
 */
final class CountingInputStream extends FilterInputStream {

    /** The read budget is spent: the caller could not decide within it. */
    static final class BudgetExhausted extends IOException {
        BudgetExhausted(long budget) {
            super("read budget of " + budget + " bytes spent");
        }
    }

    private final long budget;
    private long position;

    /** @param budget most bytes to read, or {@link Long#MAX_VALUE} */
    CountingInputStream(InputStream in, long budget) {
        super(in);
        this.budget = budget;
    }

    long position() {
        return position;
    }

    @Override
    public int read() throws IOException {
        check(1);
        int b = super.read();
        if (b >= 0) {
            position++;
        }
        return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        check(len);
        int n = super.read(b, off, (int) Math.min(len, Math.max(1, budget - position)));
        if (n > 0) {
            position += n;
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        long s = super.skip(Math.min(n, Math.max(0, budget - position)));
        position += s;
        return s;
    }

    private void check(int len) throws BudgetExhausted {
        if (len > 0 && position >= budget) {
            throw new BudgetExhausted(budget);
        }
    }
}
