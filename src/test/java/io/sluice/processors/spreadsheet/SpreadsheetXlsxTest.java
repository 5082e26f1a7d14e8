package io.sluice.processors.spreadsheet;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.api.ApiException;
import io.sluice.processors.Processor;
import io.sluice.processors.ProcessorException;
import org.dhatim.fastexcel.Workbook;
import org.dhatim.fastexcel.Worksheet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedOutputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static io.sluice.processors.spreadsheet.Sheets.INVENTORY;
import static io.sluice.processors.spreadsheet.Sheets.XLSX;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** The xlsx path end to end at processor level: rows to NDJSON, summary, progress, precheck, cancellation. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class SpreadsheetXlsxTest {

    @TempDir
    static Path dir;
    static Path inventory;

    @BeforeAll
    static void files() throws Exception {
        inventory = Sheets.inventory(dir.resolve("inventory.xlsx"), 4_000);
    }

    @Test
    void fourThousandRowsBecomeNdjsonWithSummaryAndRisingProgress() throws Exception {
        Processor.Task task = Sheets.task(Map.of("requiredColumns", INVENTORY));
        Sheets.Outcome run = Sheets.run(task, dir, inventory, "inventory.xlsx", XLSX);

        Map<String, Object> s = run.summary();
        assertThat(run.lines()).hasSize(4_000);
        assertThat(s).containsEntry("rows", 4_000L).containsEntry("format", "xlsx").containsEntry("sheet", "Inventory")
                .containsEntry("headerRow", 1L).containsEntry("errorCount", 0L);
        assertThat(s.get("columns")).isEqualTo(INVENTORY);
        assertThat(s.get("types")).isEqualTo(Map.of("sku", "string", "name", "string", "category", "string",
                "stock", "integer", "reorder_level", "integer", "unit_cost", "number", "supplier", "string",
                "location", "string"));
        assertThat(s.get("emptyCells")).isEqualTo(Map.of("sku", 0L, "name", 0L, "category", 0L, "stock", 0L,
                "reorder_level", 0L, "unit_cost", 0L, "supplier", 0L, "location", 0L));

        JsonNode first = run.lines().getFirst();
        assertThat(first.get("sku").asText()).isEqualTo("SKU-000001");
        assertThat(first.get("stock").isIntegralNumber()).isTrue();
        assertThat(first.get("stock").asLong()).isEqualTo(1);
        assertThat(first.get("unit_cost").isNumber()).isTrue();
        assertThat(first.get("unit_cost").decimalValue()).isEqualByComparingTo("1.26");
        List<String> keys = list(first.fieldNames());
        assertThat(keys).isEqualTo(INVENTORY);
        assertThat(run.lines().getLast().get("sku").asText()).isEqualTo("SKU-004000");

        // Progress rises over the run (never goes back), passes through intermediate values, and ends at 100.
        List<Integer> rows = rowProgress(run);
        assertThat(rows).isSortedAccordingTo(Integer::compare);
        assertThat(rows.stream().filter(v -> v > 0 && v < 100).distinct().count()).isGreaterThan(10);
        assertThat(run.progress().getLast()).isEqualTo(100);
    }

    @Test
    void datesBooleansEmptyCellsAndHeaderNamesFollowTheCells() throws Exception {
        Path file = dir.resolve("mixed.xlsx");
        try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(file));
             Workbook wb = new Workbook(os, "sluice-test", "1.0")) {
            Worksheet ws = wb.newWorksheet("First");
            wb.newWorksheet("Second").value(0, 0, "other");
            // Header: a blank cell and a duplicate name.
            ws.value(2, 0, "when");
            ws.value(2, 2, "flag");
            ws.value(2, 3, "flag");
            ws.value(2, 4, "mixed");
            ws.value(3, 0, LocalDate.of(2024, 1, 31));
            ws.style(3, 0).format("yyyy-mm-dd").set();
            ws.value(3, 1, "x");
            ws.value(3, 2, true);
            ws.value(3, 4, 5);
            ws.value(4, 0, LocalDateTime.of(2024, 2, 1, 13, 30));
            ws.style(4, 0).format("yyyy-mm-dd hh:mm").set();
            ws.value(4, 2, false);
            ws.value(4, 3, 2.5);
            ws.value(4, 4, "five");
            ws.value(4, 9, "far away");
        }
        Sheets.Outcome run = Sheets.run(Sheets.task(Map.of("headerRow", 2)), dir, file, "mixed.xlsx", XLSX);
        Map<String, Object> s = run.summary();
        assertThat(s.get("columns")).isEqualTo(List.of("when", "column_2", "flag", "flag_2", "mixed"));
        assertThat(s).containsEntry("headerRow", 3L).containsEntry("rows", 2L).containsEntry("sheet", "First");
        assertThat(s.get("types")).isEqualTo(Map.of("when", "date", "column_2", "string", "flag", "boolean",
                "flag_2", "number", "mixed", "mixed"));
        assertThat(s.get("emptyCells")).isEqualTo(Map.of("when", 0L, "column_2", 1L, "flag", 0L, "flag_2", 1L,
                "mixed", 0L));
        assertThat(run.lines().get(0).get("when").asText()).isEqualTo("2024-01-31");
        assertThat(run.lines().get(1).get("when").asText()).isEqualTo("2024-02-01T13:30");
        assertThat(run.lines().get(0).get("flag").isBoolean()).isTrue();
        assertThat(run.lines().get(0).get("flag_2").isNull()).isTrue();
        assertThat(s).containsEntry("errorCount", 1L);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> errors = (List<Map<String, Object>>) s.get("errors");
        assertThat(errors.getFirst()).containsEntry("row", 5L);
        assertThat((String) errors.getFirst().get("message")).contains("beyond the header");

        // Another sheet, by name and by 1-based index; an unknown one is refused with the names there are.
        assertThat(Sheets.run(Sheets.task(Map.of("sheet", "Second")), dir, file, "m.xlsx", XLSX).summary())
                .containsEntry("sheet", "Second").containsEntry("rows", 0L);
        assertThat(Sheets.run(Sheets.task(Map.of("sheet", 2)), dir, file, "m.xlsx", XLSX).summary())
                .containsEntry("sheet", "Second");
        Sheets.Outcome missing = Sheets.run(Sheets.task(Map.of("sheet", "Third")), dir, file, "m.xlsx", XLSX);
        assertThat(code(missing.failure())).isEqualTo("sheet_not_found");
        assertThat(missing.failure().getMessage()).contains("First", "Second");
    }

    @Test
    void precheckRefusesMissingColumnsWith422AndTheMissingList() throws Exception {
        Processor.Task ok = Sheets.task(Map.of("requiredColumns", List.of(" SKU ", "Stock")));
        ok.precheck(inventory, XLSX); // trimmed, case-insensitive

        Processor.Task task = Sheets.task(Map.of("requiredColumns", List.of("sku", "price", "barcode")));
        ApiException e = catchThrowableOfType(ApiException.class, () -> task.precheck(inventory, XLSX));
        assertThat(e.status()).isEqualTo(422);
        assertThat(e.code()).isEqualTo("missing_columns");
        assertThat(e.details().get("missing")).isEqualTo(List.of("price", "barcode"));
        assertThat(e.details().get("found")).isEqualTo(INVENTORY);
        assertThat(e.getMessage()).contains("price", "barcode");

        // The job checks again (it is the authority) and fails without output.
        Sheets.Outcome run = Sheets.run(task, dir, inventory, "inventory.xlsx", XLSX);
        assertThat(code(run.failure())).isEqualTo("missing_columns");
        assertThat(run.lines()).isEmpty();
    }

    @Test
    void precheckOfALargeWorkbookReadsOnlyItsHeader() throws Exception {
        // 200,000 rows; the precheck inflates at most 8 MiB of the sheet, so it is cheap whatever the size.
        Path big = Sheets.inventory(dir.resolve("big.xlsx"), 200_000);
        Sheets.task(Map.of("requiredColumns", INVENTORY)).precheck(big, XLSX);
        ApiException e = catchThrowableOfType(ApiException.class,
                () -> Sheets.task(Map.of("requiredColumns", List.of("price"))).precheck(big, XLSX));
        assertThat(e.details().get("missing")).isEqualTo(List.of("price"));
        Files.delete(big);
    }

    @Test
    void maxRowsAndMaxColumnsFailTheRun() throws Exception {
        Sheets.Outcome rows = Sheets.run(Sheets.task(Map.of("maxRows", 3_999)), dir, inventory, "i.xlsx", XLSX);
        assertThat(code(rows.failure())).isEqualTo("too_many_rows");
        assertThat(rows.failure().getMessage()).contains("3999");
        // Refused at row 4,000, in the one streaming pass: the rows before it were written to the attempt's output,
        // which the worker discards because the attempt failed (PipelineHandler publishes only on success).
        assertThat(rows.lines()).hasSize(3_999);

        Sheets.Outcome cols = Sheets.run(Sheets.task(Map.of("maxColumns", 7)), dir, inventory, "i.xlsx", XLSX);
        assertThat(code(cols.failure())).isEqualTo("too_many_columns");
        assertThat(cols.failure().getMessage()).contains("7");
        ApiException e = catchThrowableOfType(ApiException.class,
                () -> Sheets.task(Map.of("maxColumns", 7)).precheck(inventory, XLSX));
        assertThat(e.code()).isEqualTo("too_many_columns");
    }

    @Test
    void aCheckpointThatThrowsStopsTheRun() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        RuntimeException cancelled = new RuntimeException("cancelled");
        Sheets.Outcome run = Sheets.run(Sheets.task(Map.of()), dir, inventory, "i.xlsx", XLSX, () -> {
            if (calls.incrementAndGet() > 2) {
                throw cancelled;
            }
        });
        assertThat(run.failure()).isSameAs(cancelled);
        assertThat(run.lines().size()).isBetween(1, 3_000);
        assertThat(run.progress()).doesNotContain(100);
    }

    static List<Integer> rowProgress(Sheets.Outcome run) {
        List<Integer> out = new java.util.ArrayList<>();
        for (int i = 0; i < run.progress().size(); i++) {
            if ("rows".equals(run.stages().get(i))) {
                out.add(run.progress().get(i));
            }
        }
        return out;
    }

    static String code(Throwable t) {
        assertThat(t).isInstanceOf(ProcessorException.class);
        return ((ProcessorException) t).code();
    }

    private static <T> List<T> list(java.util.Iterator<T> it) {
        List<T> out = new java.util.ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
