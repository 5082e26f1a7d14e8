package io.sluice.processors.spreadsheet;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * Counts a zip's central-directory records before any zip library opens it.
 *
 * <p>Why: commons-compress (which fastexcel-reader uses) builds an entry object for every central-directory record
 * it finds, reading records for as long as their signature matches, whatever the end record claims. A small upload
 * made of millions of tiny records would exhaust the heap while merely being opened. This walk finds the central
 * directory exactly as commons-compress 1.28 does (the last end-of-central-directory signature within 64 KiB of
 * the end, the ZIP64 locator just before it, the same offset arithmetic), then steps over the records with
 * fixed-size reads, stopping at the limits.
 */
final class ZipDirectory {

    static final int MAX_ENTRIES = 10_000;
    static final long MAX_DIRECTORY_BYTES = 16L << 20;

    private static final int EOCD_SIG = 0x06054b50;
    private static final int ZIP64_LOCATOR_SIG = 0x07064b50;
    private static final int ZIP64_EOCD_SIG = 0x06064b50;
    private static final int CFH_SIG = 0x02014b50;
    private static final int LFH_SIG = 0x04034b50;
    private static final int MIN_EOCD = 22;
    private static final int MAX_EOCD = MIN_EOCD + 0xFFFF;
    private static final int ZIP64_LOCATOR_LENGTH = 20;
    private static final int CFH_FIXED = 46;

    /** What the walk found. */
    record Summary(int entries, long directoryBytes) {
    }

    private ZipDirectory() {
    }

    /**
     * @throws SheetException {@code malformed_file} when there is no readable central directory, {@code zip_bomb}
     *                        past {@link #MAX_ENTRIES} records or {@link #MAX_DIRECTORY_BYTES}
     */
    static Summary walk(Path file) throws IOException, SheetException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            long eocd = locateEndRecord(ch, size);
            if (eocd < 0) {
                throw SheetException.malformed("not an xlsx workbook: the file is not a zip archive", null);
            }
            long start;
            if (eocd > ZIP64_LOCATOR_LENGTH && readInt(ch, eocd - ZIP64_LOCATOR_LENGTH) == ZIP64_LOCATOR_SIG) {
                long zip64Eocd = readLong(ch, eocd - ZIP64_LOCATOR_LENGTH + 8);
                if (zip64Eocd < 0 || zip64Eocd > size - 56 || readInt(ch, zip64Eocd) != ZIP64_EOCD_SIG) {
                    throw SheetException.malformed("not an xlsx workbook: corrupt ZIP64 end of central directory", null);
                }
                start = readLong(ch, zip64Eocd + 48);
            } else {
                long length = readInt(ch, eocd + 12) & 0xFFFFFFFFL;
                long offset = readInt(ch, eocd + 16) & 0xFFFFFFFFL;
                start = offset + Math.max(eocd - length - offset, 0L);
            }
            if (start < 0 || start > size - 4) {
                throw SheetException.malformed("not an xlsx workbook: the central directory is outside the file", null);
            }
            int sig = readInt(ch, start);
            if (sig != CFH_SIG && readIntOr(ch, 0, 0) == LFH_SIG) {
                throw SheetException.malformed("not an xlsx workbook: the central directory is empty", null);
            }
            int entries = 0;
            long pos = start;
            ByteBuffer fixed = ByteBuffer.allocate(CFH_FIXED).order(ByteOrder.LITTLE_ENDIAN);
            while (pos <= size - 4 && readInt(ch, pos) == CFH_SIG) {
                fixed.clear();
                readFully(ch, fixed, pos);
                int nameLength = fixed.getShort(28) & 0xFFFF;
                int extraLength = fixed.getShort(30) & 0xFFFF;
                int commentLength = fixed.getShort(32) & 0xFFFF;
                pos += CFH_FIXED + nameLength + extraLength + commentLength;
                entries++;
                if (entries > MAX_ENTRIES) {
                    throw new SheetException(SheetException.ZIP_BOMB, "the archive has more than " + MAX_ENTRIES
                            + " entries; a spreadsheet never needs that many", Map.of("limit", MAX_ENTRIES));
                }
                if (pos - start > MAX_DIRECTORY_BYTES) {
                    throw new SheetException(SheetException.ZIP_BOMB, "the archive's central directory is larger than "
                            + (MAX_DIRECTORY_BYTES >> 20) + " MiB", Map.of("limit", MAX_DIRECTORY_BYTES));
                }
            }
            return new Summary(entries, pos - start);
        } catch (EOFException e) {
            throw SheetException.malformed("not an xlsx workbook: the zip archive is truncated", e);
        }
    }

    /** Same search as commons-compress: backwards from 22 bytes before the end, at most 64 KiB + 22 back. */
    private static long locateEndRecord(FileChannel ch, long size) throws IOException {
        long off = size - MIN_EOCD;
        long stop = Math.max(0L, size - MAX_EOCD);
        if (off < 0) {
            return -1;
        }
        int window = (int) (off - stop + 4);
        ByteBuffer tail = ByteBuffer.allocate(window).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, tail, stop);
        for (long p = off; p >= stop; p--) {
            if (tail.getInt((int) (p - stop)) == EOCD_SIG) {
                return p;
            }
        }
        return -1;
    }

    private static int readInt(FileChannel ch, long pos) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, b, pos);
        return b.getInt(0);
    }

    private static int readIntOr(FileChannel ch, long pos, int dflt) throws IOException {
        try {
            return readInt(ch, pos);
        } catch (EOFException e) {
            return dflt;
        }
    }

    private static long readLong(FileChannel ch, long pos) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, b, pos);
        return b.getLong(0);
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        long p = pos;
        while (b.hasRemaining()) {
            int n = ch.read(b, p);
            if (n < 0) {
                throw new EOFException("unexpected end of zip at " + p);
            }
            p += n;
        }
    }
}
