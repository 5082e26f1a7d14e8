package io.sluice.bench;

import com.sun.management.GarbageCollectionNotificationInfo;
import io.sluice.bench.BenchSupport.Args;
import io.sluice.bench.BenchSupport.Report;
import io.sluice.processors.FileContext;
import io.sluice.processors.Processor;
import io.sluice.processors.ProcessorContext;
import io.sluice.processors.pdf.PdfProcessor;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.PDPageContentStream;
import org.apache.pdfbox.pdmodel.font.PDType1Font;
import org.apache.pdfbox.pdmodel.font.Standard14Fonts;

import javax.management.NotificationEmitter;
import javax.management.openmbean.CompositeData;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static io.sluice.bench.BenchSupport.fmt;
import static io.sluice.bench.BenchSupport.formatBytes;
import static io.sluice.bench.BenchSupport.log;

/**
 * The {@code pdf} processor on one large PDF in this JVM: pages per second and peak heap. Meant to run under a
 * small heap ({@code -Xmx128m}) to show that memory does not grow with the page count.
 *
 * <p>Generates an N-page PDF with PDFBox (Helvetica, {@code --lines} lines of about 70 characters per page) into a
 * temporary directory, or takes {@code --file}; then forces a GC, resets the heap pools' peaks and runs the processor
 * once with a {@link FileContext} (NDJSON into the same directory). Peak heap is reported three ways: the largest
 * heap use seen just before a GC and the largest just after one (GC notifications: after-GC is the live set the
 * run needs, though a young GC leaves old garbage in place), the sum of the heap pools' peaks (an upper bound:
 * pools peak at different moments), and the heap in use after a full GC at the last page, with the document open
 * and every page parsed (what PDFBox retains; the only number here that grows with the page count). The full GC
 * there is inside the timed run (one collection, tens of milliseconds).
 *
 * <p>Not a test (its name ends in Bench; surefire ignores it). Needs target/sluice.jar (PDFBox and the processor):
 * {@code java -Xmx128m -cp target/sluice.jar:target/bench-classes io.sluice.bench.PdfBench [--pages 1000]
 * [--lines 45] [--chunk-size 1000] [--chunk-overlap 200] [--file PDF] [--keep true] [--summary FILE]}.
 */
public final class PdfBench {

    private static final String[] WORDS = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
        "hotel", "india", "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo"};

    private PdfBench() {
    }

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        int pages = args.integer("pages", 1000);
        int lines = args.integer("lines", 45);
        Report report = new Report(args.get("summary", null));
        Path dir = Files.createTempDirectory("sluice-pdfbench");
        try {
            Path pdf;
            if (args.get("file", null) != null) {
                pdf = Path.of(args.get("file", null));
            } else {
                long t0 = System.nanoTime();
                pdf = generate(dir.resolve("bench.pdf"), pages, lines);
                log("generated " + pages + " pages x " + lines + " lines, " + formatBytes(Files.size(pdf)) + " in "
                        + fmt((System.nanoTime() - t0) / 1e9) + " s");
            }
            run(pdf, dir, args, report);
        } finally {
            if (!Boolean.parseBoolean(args.get("keep", "false"))) {
                try (Stream<Path> files = Files.walk(dir)) {
                    for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(p);
                    }
                }
            } else {
                log("kept " + dir);
            }
        }
    }

    private static void run(Path pdf, Path dir, Args args, Report report) throws Exception {
        Map<String, Object> options = new HashMap<>();
        options.put("chunkSize", args.integer("chunk-size", 1000));
        options.put("chunkOverlap", args.integer("chunk-overlap", 200));
        options.put("maxPages", Integer.MAX_VALUE);
        Processor.Task task = new PdfProcessor().configure(options);
        var upload = new ProcessorContext.UploadInfo("bench", pdf.getFileName().toString(), Files.size(pdf),
                "0".repeat(64), "application/pdf", Map.of());
        AtomicInteger lastPercent = new AtomicInteger(-1);
        AtomicLong liveAtEnd = new AtomicLong(-1);

        GcWatch gc = GcWatch.start();
        long t0 = System.nanoTime();
        Processor.Result result;
        try (FileContext ctx = new FileContext(upload, pdf, dir.resolve("work"), dir.resolve("out.ndjson"),
                (percent, stage, eta) -> {
                    if (percent == 100 && liveAtEnd.get() < 0) {
                        // The last page, document still open with every page parsed: what PDFBox retains.
                        System.gc();
                        liveAtEnd.set(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
                    }
                    if (percent / 10 != lastPercent.get() / 10) {
                        lastPercent.set(percent);
                        log(stage + " (" + percent + "%, eta " + eta + " s)");
                    }
                }, () -> { })) {
            result = task.run(ctx);
        }
        long nanos = System.nanoTime() - t0;
        gc.stop();

        Map<String, Object> s = result.summary();
        int n = ((Number) s.get("pages")).intValue();
        long heapMax = Runtime.getRuntime().maxMemory();
        report.line("pdf: " + n + " pages, " + formatBytes(Files.size(pdf)) + ", " + s.get("chunks") + " chunks, "
                + s.get("characters") + " characters, output " + formatBytes(Files.size(dir.resolve("out.ndjson"))));
        report.line("pdf: " + fmt(nanos / 1e9) + " s, " + fmt(n / (nanos / 1e9)) + " pages/s");
        report.line("pdf: heap max (-Xmx) " + formatBytes(heapMax) + "; peak used before a GC "
                + formatBytes(gc.maxBefore.get()) + ", peak live after a GC " + formatBytes(gc.maxAfter.get())
                + " (" + gc.count.get() + " GCs); sum of heap pool peaks " + formatBytes(GcWatch.poolPeaks())
                + "; live at the last page (full GC) " + formatBytes(liveAtEnd.get()));
    }

    static Path generate(Path file, int pages, int lines) throws IOException {
        try (PDDocument doc = new PDDocument()) {
            PDType1Font helvetica = new PDType1Font(Standard14Fonts.FontName.HELVETICA);
            for (int p = 1; p <= pages; p++) {
                PDPage page = new PDPage();
                doc.addPage(page);
                try (PDPageContentStream cs = new PDPageContentStream(doc, page)) {
                    cs.beginText();
                    cs.setFont(helvetica, 10);
                    cs.setLeading(12);
                    cs.newLineAtOffset(50, 740);
                    for (int l = 1; l <= lines; l++) {
                        StringBuilder sb = new StringBuilder("[p").append(p).append(".l").append(l).append(']');
                        for (int w = 0; sb.length() < 70; w++) {
                            sb.append(' ').append(WORDS[(p * 7 + l * 3 + w) % WORDS.length]);
                        }
                        cs.showText(sb.toString());
                        cs.newLine();
                    }
                    cs.endText();
                }
            }
            doc.getDocumentInformation().setTitle("PdfBench " + pages + " pages");
            doc.save(file.toFile());
        }
        return file;
    }

    /** Heap use around each GC while the run lasts, from the collectors' notifications. */
    private static final class GcWatch {
        final AtomicLong maxBefore = new AtomicLong();
        final AtomicLong maxAfter = new AtomicLong();
        final AtomicInteger count = new AtomicInteger();
        private final javax.management.NotificationListener listener = (notification, handback) -> {
            if (!notification.getType().equals(GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION)) {
                return;
            }
            var info = GarbageCollectionNotificationInfo.from((CompositeData) notification.getUserData());
            maxBefore.accumulateAndGet(heap(info.getGcInfo().getMemoryUsageBeforeGc()), Math::max);
            maxAfter.accumulateAndGet(heap(info.getGcInfo().getMemoryUsageAfterGc()), Math::max);
            count.incrementAndGet();
        };

        static GcWatch start() {
            System.gc();
            for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                if (pool.getType() == MemoryType.HEAP) {
                    pool.resetPeakUsage();
                }
            }
            GcWatch w = new GcWatch();
            for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
                ((NotificationEmitter) gc).addNotificationListener(w.listener, null, null);
            }
            return w;
        }

        void stop() throws Exception {
            // Notifications are delivered asynchronously: give the last one a moment.
            Thread.sleep(200);
            for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
                ((NotificationEmitter) gc).removeNotificationListener(listener);
            }
        }

        /** Sum over heap pools (pool names differ per collector, so sum those that are heap pools). */
        private static long heap(Map<String, MemoryUsage> usage) {
            long sum = 0;
            for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                MemoryUsage u = usage.get(pool.getName());
                if (pool.getType() == MemoryType.HEAP && u != null) {
                    sum += u.getUsed();
                }
            }
            return sum;
        }

        static long poolPeaks() {
            long sum = 0;
            for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                if (pool.getType() == MemoryType.HEAP) {
                    sum += pool.getPeakUsage().getUsed();
                }
            }
            return sum;
        }
    }
}
