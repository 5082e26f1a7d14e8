package io.sluice.processors.spreadsheet;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * The checks on bytes actually inflated, which a central directory cannot talk its way past; exercised directly
 * because in a real archive a lie about sizes is caught first by the declared-size check.
 */
class GuardedInputStreamTest {

    @Test
    void theInflateRatioIsCheckedOnActualBytesAfterAGrace() throws Exception {
        // 2 MiB from a "compressed size" of 1 KiB: past the grace, 2048 times.
        GuardedInputStream in = guard(zeros(2 << 20), -1, 1024, 100, new InflateBudget(Long.MAX_VALUE));
        GuardedInputStream.Tripped t = catchThrowableOfType(GuardedInputStream.Tripped.class, in::drain);
        assertThat(t.refusal().code()).isEqualTo("zip_bomb");
        assertThat(t.refusal().getMessage()).contains("more than 100 times");
        assertThat(in.position()).isLessThan(2L << 20); // stopped early

        // Small entries may compress far better than the ratio: the grace lets them through.
        assertThat(guard(zeros(512 << 10), -1, 10, 100, new InflateBudget(Long.MAX_VALUE)).drain())
                .isEqualTo(512 << 10);
    }

    @Test
    void theBudgetCountsEveryEntryTogether() throws Exception {
        InflateBudget budget = new InflateBudget(3 << 20);
        guard(zeros(2 << 20), -1, 1 << 20, 100, budget).drain();
        GuardedInputStream second = guard(zeros(2 << 20), -1, 1 << 20, 100, budget);
        GuardedInputStream.Tripped t = catchThrowableOfType(GuardedInputStream.Tripped.class, second::drain);
        assertThat(t.refusal().code()).isEqualTo("too_large");
        assertThat(t.refusal().getMessage()).contains("3MiB");
    }

    @Test
    void anEntryThatInflatesPastItsDeclaredSizeIsABomb() throws Exception {
        GuardedInputStream in = guard(zeros(10_000), 5_000, 100, 1_000_000, new InflateBudget(Long.MAX_VALUE));
        GuardedInputStream.Tripped t = catchThrowableOfType(GuardedInputStream.Tripped.class, in::drain);
        assertThat(t.refusal().code()).isEqualTo("zip_bomb");
        assertThat(t.refusal().getMessage()).contains("declared size of 5000 bytes");
    }

    @Test
    void tagsAreBoundedButQuotedBracketsCommentsAndCdataAreNotTags() throws Exception {
        String ok = "<a x=\"1 > 0\" y='<'><!-- <!DOCTYPE x> --><![CDATA[<!DOCTYPE y>]]>" + "t".repeat(3 << 20) + "</a>";
        assertThat(xml(ok).drain()).isEqualTo(ok.length());

        String longTag = "<a x=\"" + "v".repeat((1 << 20) + 10) + "\"/>";
        GuardedInputStream.Tripped t = catchThrowableOfType(GuardedInputStream.Tripped.class, xml(longTag)::drain);
        assertThat(t.refusal().code()).isEqualTo("malformed_file");

        GuardedInputStream.Tripped dtd = catchThrowableOfType(GuardedInputStream.Tripped.class,
                xml("<?xml version=\"1.0\"?><!DOCTYPE a><a/>")::drain);
        assertThat(dtd.refusal().getMessage()).contains("DTD");
    }

    @Test
    void theTagCheckIsTheSameWhateverSizeTheReadsAre() throws Exception {
        String ok = "<?xml version=\"1.0\"?><a x=\"1 > 0\" y='<'><?pi a?b ?><!-- - -- <!DOCTYPE x> --->"
                + "<![CDATA[ ] ]] <!DOCTYPE y>]]><b/>text</a>";
        int exact = GuardedInputStream.MAX_TAG_BYTES - 9; // <a x=" ... "/> is 9 bytes around the value
        String longest = "<a x=\"" + "v".repeat(exact) + "\"/>";
        String tooLong = "<a x='" + "v".repeat(exact + 1) + "'/>";
        String dtd = "<a/><!DOCTYPE a>";
        for (int chunk : new int[] {1, 2, 3, 7, 4096, 1 << 16}) {
            assertThat(chunked(ok, chunk).drain()).as("chunk " + chunk).isEqualTo(ok.length());
            if (chunk >= 7) { // a MiB one byte at a time is slow and proves nothing more
                assertThat(chunked(longest, chunk).drain()).as("chunk " + chunk).isEqualTo(longest.length());
                GuardedInputStream.Tripped t = catchThrowableOfType(GuardedInputStream.Tripped.class,
                        chunked(tooLong, chunk)::drain);
                assertThat(t.refusal().getMessage()).as("chunk " + chunk).contains("longer than 1 MiB");
            }
            GuardedInputStream.Tripped d = catchThrowableOfType(GuardedInputStream.Tripped.class,
                    chunked(dtd, chunk)::drain);
            assertThat(d.refusal().getMessage()).as("chunk " + chunk).contains("DTD");
        }
    }

    /** {@code text} through the XML guard, handed over at most {@code chunk} bytes per read. */
    private static GuardedInputStream chunked(String text, int chunk) {
        InputStream in = new FilterInputStream(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8))) {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return super.read(b, off, Math.min(len, chunk));
            }
        };
        return guard(in, -1, text.length(), 100, new InflateBudget(Long.MAX_VALUE)).xml(true);
    }

    @Test
    void aCorruptStreamIsMalformedNotRetryable() {
        InputStream broken = new InputStream() {
            @Override
            public int read() throws IOException {
                throw new java.util.zip.ZipException("invalid stored block lengths");
            }
        };
        GuardedInputStream in = guard(broken, -1, 100, 100, new InflateBudget(Long.MAX_VALUE));
        GuardedInputStream.Tripped t = catchThrowableOfType(GuardedInputStream.Tripped.class, in::drain);
        assertThat(t.refusal().code()).isEqualTo("malformed_file");
        assertThat(t.refusal().retryable()).isFalse();
    }

    private static GuardedInputStream xml(String text) {
        return guard(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), -1, text.length(), 100,
                new InflateBudget(Long.MAX_VALUE)).xml(true);
    }

    private static InputStream zeros(int n) {
        return new ByteArrayInputStream(new byte[n]);
    }

    private static GuardedInputStream guard(InputStream in, long declared, long compressed, double ratio,
                                            InflateBudget budget) {
        return new GuardedInputStream(in, "xl/worksheets/sheet1.xml", declared, compressed, ratio, budget, () -> {
        });
    }
}
