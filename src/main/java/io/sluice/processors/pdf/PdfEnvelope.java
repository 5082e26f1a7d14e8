package io.sluice.processors.pdf;

import io.sluice.processors.ProcessorException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The cheap structural check done before PDFBox parses anything: a {@code %PDF-} header within the first 1024 bytes
 * and a {@code %%EOF} marker within the last 1024 (the tolerance Acrobat documents for both).
 *
 * <p>Why: PDFBox's lenient parser rebuilds a damaged cross-reference table by scanning the file, so a PDF cut off
 * half-way often still "opens" and yields only the pages whose objects happened to come first, the rest silently
 * empty. A truncated upload must fail, not produce half the text; the missing {@code %%EOF} is what tells.
 */
final class PdfEnvelope {

    static final int WINDOW = 1024;
    private static final byte[] HEADER = "%PDF-".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] EOF = "%%EOF".getBytes(StandardCharsets.US_ASCII);

    private PdfEnvelope() {
    }

    /** @throws ProcessorException {@code malformed_pdf} when {@code file} is empty, not a PDF, or truncated */
    static void check(Path file) throws IOException, ProcessorException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size == 0) {
                throw new ProcessorException("malformed_pdf", "the file is empty");
            }
            if (!contains(read(ch, 0, (int) Math.min(size, WINDOW)), HEADER)) {
                throw new ProcessorException("malformed_pdf",
                        "not a PDF: no %PDF- header in the first " + WINDOW + " bytes");
            }
            long tail = Math.max(0, size - WINDOW);
            if (!contains(read(ch, tail, (int) (size - tail)), EOF)) {
                throw new ProcessorException("malformed_pdf",
                        "the PDF is truncated: no %%EOF marker in its last " + WINDOW + " bytes");
            }
        }
    }

    private static byte[] read(FileChannel ch, long position, int length) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length);
        while (buf.hasRemaining()) {
            if (ch.read(buf, position + buf.position()) < 0) {
                break;
            }
        }
        return buf.array();
    }

    private static boolean contains(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
