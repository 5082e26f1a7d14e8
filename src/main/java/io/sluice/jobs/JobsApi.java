package io.sluice.jobs;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import io.sluice.api.Exchange;
import io.sluice.api.Json;
import io.sluice.api.Routes;
import io.sluice.upload.DirectUploadApi;
import io.sluice.upload.IdGenerator;
import io.sluice.upload.QueuedJob;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.RetainableByteBuffer;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.Fields;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.NoSuchFileException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The jobs API: a job's state, the list, cancel, retry, and the NDJSON output of a succeeded job.
 *
 * <pre>
 * GET  /api/v1/jobs/{id}                      the job (JobView)
 * GET  /api/v1/jobs?state=&pipeline=&q=&since=&until=&limit=&cursor=   newest first; nextCursor null on the last page
 * GET  /api/v1/jobs/counts?state=&pipeline=&q=&since=&until=             how many per state, same filters
 * POST /api/v1/jobs/bulk {"action": "retry"|"cancel", "ids": [...]}      one result per id
 * POST /api/v1/jobs/{id}/cancel               202 with the job; 409 job_finished
 * POST /api/v1/jobs/{id}/retry                202 with the job; 409 job_not_retryable
 * GET  /api/v1/jobs/{id}/output?offset=&limit=   the output's lines [offset, offset + limit), streamed
 * GET  /api/v1/pipelines                      the configured pipelines (name, processor, types, default)
 * </pre>
 */
public final class JobsApi {

    static final String BASE = QueuedJob.JOBS_PATH;
    public static final int DEFAULT_PAGE_SIZE = 50;
    public static final int MAX_PAGE_SIZE = 500;
    public static final String NDJSON = "application/x-ndjson";
    private static final int OUTPUT_BUFFER = 64 * 1024;
    /** Longest search text: a file name or an id is far shorter; a longer one is a mistake or an attack. */
    public static final int MAX_QUERY_LENGTH = 200;
    /** Ids one bulk request may name: a full page of the list. */
    public static final int MAX_BULK_IDS = MAX_PAGE_SIZE;
    static final int MAX_BULK_BODY = 64 * 1024;

    private final JobQueue queue;
    private final Pipelines pipelines;
    private final JobOutputs outputs;

    public JobsApi(JobQueue queue, Pipelines pipelines, JobOutputs outputs) {
        this.queue = Objects.requireNonNull(queue, "queue");
        this.pipelines = Objects.requireNonNull(pipelines, "pipelines");
        this.outputs = Objects.requireNonNull(outputs, "outputs");
    }

    public void register(Routes routes) {
        routes.add("GET", "/api/v1/jobs", this::list);
        // Before {id}: the first matching pattern wins.
        routes.add("GET", BASE + "counts", this::counts);
        routes.add("POST", BASE + "bulk", this::bulk);
        routes.add("GET", BASE + "{id}", this::get);
        routes.add("POST", BASE + "{id}/cancel", this::cancel);
        routes.add("POST", BASE + "{id}/retry", this::retry);
        routes.add("GET", BASE + "{id}/output", this::output);
        routes.add("GET", "/api/v1/pipelines", this::pipelines);
    }

    /**
     * One configured pipeline as clients (the dashboard's picker) see it. Options are left out: they may hold
     * URLs and tokens of the systems a pipeline talks to.
     */
    record PipelineView(String name, String processor, List<String> types,
                        @JsonProperty("default") boolean isDefault) {
    }

    record PipelineList(List<PipelineView> pipelines) {
    }

    /** The pipelines in file order: what an upload may name in its {@code pipeline} field or metadata. */
    void pipelines(Exchange ex) throws IOException {
        ex.json(200, new PipelineList(pipelines.all().stream().map(p -> new PipelineView(p.name(),
                p.config().processor(), p.config().types(), p.config().isDefault())).toList()));
    }

    void get(Exchange ex) throws Exception {
        ex.json(200, JobView.of(require(ex, ex.param("id"))));
    }

    void list(Exchange ex) throws Exception {
        Fields query = Request.extractQueryParameters(ex.request());
        JobFilter filter = filter(ex, query);
        long limit = number(query.getValue("limit"), DEFAULT_PAGE_SIZE, ErrorCode.INVALID_LIMIT,
                "limit must be between 1 and " + MAX_PAGE_SIZE);
        if (limit < 1 || limit > MAX_PAGE_SIZE) {
            throw ErrorCode.INVALID_LIMIT.error("limit must be between 1 and " + MAX_PAGE_SIZE);
        }
        String cursor = query.getValue("cursor");
        if (cursor != null && !IdGenerator.looksLikeId(cursor)) {
            throw ErrorCode.INVALID_CURSOR.error("cursor must be a value returned as nextCursor");
        }
        List<Job> page = queue.list(filter, cursor, (int) limit + 1);
        boolean more = page.size() > limit;
        List<Job> items = more ? page.subList(0, (int) limit) : page;
        ex.json(200, new Page(items.stream().map(JobView::of).toList(), more ? items.getLast().id() : null));
    }

    /** Per-state counts of the jobs the same filters as the list cover, for the dashboard's tabs. */
    void counts(Exchange ex) throws Exception {
        Map<JobState, Long> counts = queue.counts(filter(ex, Request.extractQueryParameters(ex.request())));
        Map<String, Long> byName = new LinkedHashMap<>();
        long total = 0;
        for (var e : counts.entrySet()) {
            byName.put(e.getKey().dbValue(), e.getValue());
            total += e.getValue();
        }
        ex.json(200, new Counts(byName, total));
    }

    record Counts(Map<String, Long> counts, long total) {
    }

    /** The list's filters from the query; the caller's tenancy is always one of them. */
    private static JobFilter filter(Exchange ex, Fields query) {
        JobState state = null;
        String rawState = query.getValue("state");
        if (rawState != null && !rawState.isEmpty()) {
            state = Arrays.stream(JobState.values()).filter(s -> s.dbValue().equals(rawState)).findFirst()
                    .orElseThrow(() -> ErrorCode.INVALID_STATE.error("state must be one of "
                            + states(), Map.of("states", states())));
        }
        String pipeline = query.getValue("pipeline");
        if (pipeline != null && pipeline.isEmpty()) {
            pipeline = null;
        }
        String q = query.getValue("q");
        if (q != null) {
            q = q.strip();
            if (q.length() > MAX_QUERY_LENGTH) {
                throw ErrorCode.INVALID_QUERY.error("q is at most " + MAX_QUERY_LENGTH + " characters");
            }
            if (q.isEmpty()) {
                q = null;
            }
        }
        Instant since = instant(query.getValue("since"), "since");
        Instant until = instant(query.getValue("until"), "until");
        if (since != null && until != null && !since.isBefore(until)) {
            throw ErrorCode.INVALID_TIME_RANGE.error("since must be before until");
        }
        // An admin sees every job, or one owner's (?owner=); any other caller only its own.
        String owner = ex.principal().admin() ? DirectUploadApi.ownerFilter(query.getValue("owner"))
                : ex.principal().owner();
        return new JobFilter(state, pipeline, owner, q, since, until);
    }

    /** An RFC 3339 instant ({@code 2026-12-06T20:00:00Z}, an offset allowed), null when absent or empty. */
    private static Instant instant(String raw, String name) {
        if (raw == null || raw.isEmpty()) {
            return null;
        }
        try {
            return OffsetDateTime.parse(raw).toInstant();
        } catch (DateTimeParseException e) {
            throw ErrorCode.INVALID_TIME.error(name + " must be an RFC 3339 date-time such as "
                    + "2026-01-31T12:00:00Z");
        }
    }

    /** {@code nextCursor} is written even when null (the last page), as for uploads. */
    record Page(List<JobView> jobs, @JsonInclude(JsonInclude.Include.ALWAYS) String nextCursor) {
    }

    void cancel(Exchange ex) throws Exception {
        ex.json(202, JobView.of(cancel(require(ex, ex.param("id")))));
    }

    void retry(Exchange ex) throws Exception {
        ex.json(202, JobView.of(retry(require(ex, ex.param("id")))));
    }

    private Job cancel(Job job) throws Exception {
        if (job.state().finished()) {
            throw finished(job);
        }
        Job after = queue.cancel(job.id()).orElseThrow(() -> ApiException.notFound("job " + job.id()));
        if (after.state() == JobState.SUCCEEDED || after.state() == JobState.FAILED) {
            throw finished(after); // it ended between the two reads
        }
        return after;
    }

    private Job retry(Job job) throws Exception {
        if (job.state() != JobState.FAILED && job.state() != JobState.CANCELLED) {
            throw notRetryable(job, "only a failed or cancelled job can be retried; job " + job.id() + " is "
                    + job.state().dbValue());
        }
        Pipelines.Pipeline pipeline = pipelines.find(job.pipeline()).orElseThrow(() -> notRetryable(job,
                "pipeline '" + job.pipeline() + "' is no longer configured, so nothing would run job " + job.id()));
        Job after = queue.retry(job.id(), pipeline.config().maxAttempts())
                .orElseThrow(() -> ApiException.notFound("job " + job.id()));
        if (after.state() != JobState.QUEUED) {
            throw notRetryable(after, "job " + job.id() + " is " + after.state().dbValue());
        }
        return after;
    }

    /**
     * Retry or cancel many jobs, each exactly as its own route would: one result per distinct id, in the order
     * given, with the status and error code that route would have answered. The whole request is refused (400,
     * nothing changed) when its shape is wrong; a single job's refusal (404, 409) is only that job's result.
     */
    void bulk(Exchange ex) throws Exception {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        ex.readBody(MAX_BULK_BODY, () -> ErrorCode.REQUEST_TOO_LARGE.error("a bulk request is at most "
                + MAX_BULK_BODY + " bytes", Map.of("limit", MAX_BULK_BODY)), chunk -> {
            ByteBuffer b = chunk.getByteBuffer();
            byte[] a = new byte[b.remaining()];
            b.get(a);
            body.write(a);
        });
        JsonNode json;
        try {
            json = Json.mapper().readTree(body.toByteArray());
        } catch (IOException e) {
            throw ErrorCode.INVALID_JSON.error("the body is not JSON");
        }
        if (json == null || !json.isObject()) {
            throw ErrorCode.INVALID_JSON.error("the body must be a JSON object");
        }
        String action = json.path("action").isTextual() ? json.path("action").asText() : null;
        if (!"retry".equals(action) && !"cancel".equals(action)) {
            throw ErrorCode.INVALID_ACTION.error("action must be \"retry\" or \"cancel\"");
        }
        JsonNode rawIds = json.path("ids");
        if (!rawIds.isArray() || rawIds.isEmpty() || rawIds.size() > MAX_BULK_IDS) {
            throw ErrorCode.INVALID_IDS.error("ids must be an array of 1 to " + MAX_BULK_IDS + " job ids",
                    Map.of("limit", MAX_BULK_IDS));
        }
        LinkedHashSet<String> ids = new LinkedHashSet<>();
        for (var n : rawIds) {
            if (!n.isTextual()) {
                throw ErrorCode.INVALID_IDS.error("ids must be strings (job ids)",
                        Map.of("limit", MAX_BULK_IDS));
            }
            ids.add(n.asText());
        }
        List<BulkResult> results = new ArrayList<>(ids.size());
        int ok = 0;
        for (String id : ids) {
            try {
                Job job = require(ex, id);
                Job after = "retry".equals(action) ? retry(job) : cancel(job);
                results.add(new BulkResult(id, 202, JobView.of(after), null));
                ok++;
            } catch (ApiException e) {
                results.add(new BulkResult(id, e.status(), null, new JobView.Error(e.code(), e.getMessage())));
            }
        }
        ex.json(200, new BulkOutcome(action, ok, results.size() - ok, results));
    }

    /** One id's outcome: {@code status} is what the single-job route would have answered. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record BulkResult(String id, int status, JobView job, JobView.Error error) {
    }

    record BulkOutcome(String action, int succeeded, int failed, List<BulkResult> results) {
    }

    /**
     * Streams lines {@code [offset, offset + limit)} of a succeeded job's NDJSON output through one pooled buffer:
     * lines are found by scanning for {@code \n}, never by reading the file into memory.
     */
    void output(Exchange ex) throws Exception {
        Job job = require(ex, ex.param("id"));
        Fields query = Request.extractQueryParameters(ex.request());
        long offset = number(query.getValue("offset"), 0, ErrorCode.INVALID_OFFSET,
                "offset must be a non-negative number of lines");
        long limit = number(query.getValue("limit"), Long.MAX_VALUE, ErrorCode.INVALID_LIMIT,
                "limit must be a positive number of lines");
        if (limit < 1) {
            throw ErrorCode.INVALID_LIMIT.error("limit must be a positive number of lines");
        }
        if (job.state() != JobState.SUCCEEDED) {
            throw noOutput("job " + job.id() + " is " + job.state().dbValue()
                    + "; its output exists once it has succeeded");
        }
        // Read where the output lives: this disk (storage.type local) or the shared store, whichever node wrote it.
        JobOutputs.Opened opened;
        try {
            opened = outputs.open(job.id()).orElseThrow(() -> noOutput("the output of job " + job.id()
                    + " is gone"));
        } catch (NoSuchFileException e) {
            throw noOutput("the output of job " + job.id() + " is gone");
        }
        try (opened) {
            ex.response().setStatus(200);
            ex.response().getHeaders().put(HttpHeader.CONTENT_TYPE, NDJSON);
            ex.response().getHeaders().put(HttpHeader.CACHE_CONTROL, "private, no-cache");
            // A link (the dashboard's Download) saves the file under a useful name; fetch() and curl ignore it.
            ex.response().getHeaders().put(HttpHeader.CONTENT_DISPOSITION,
                    "attachment; filename=\"job-" + job.id() + ".ndjson\"");
            if (offset == 0 && limit == Long.MAX_VALUE) {
                ex.response().getHeaders().put(HttpHeader.CONTENT_LENGTH, opened.size());
            }
            stream(ex, opened.channel(), offset, limit);
        }
    }

    private static void stream(Exchange ex, ReadableByteChannel ch, long offset, long limit) throws IOException {
        RetainableByteBuffer pooled = ex.request().getComponents().getByteBufferPool().acquire(OUTPUT_BUFFER, false);
        try {
            ByteBuffer buf = pooled.getByteBuffer();
            long skip = offset;
            long left = limit;
            while (left > 0) {
                buf.clear();
                if (ch.read(buf) < 0) {
                    break;
                }
                buf.flip();
                while (skip > 0 && buf.hasRemaining()) {
                    if (buf.get() == '\n') {
                        skip--;
                    }
                }
                int from = buf.position();
                int end = from;
                while (end < buf.limit() && left > 0) {
                    if (buf.get(end++) == '\n') {
                        left--;
                    }
                }
                if (end > from) {
                    ex.write(false, buf.limit(end).position(from));
                }
            }
            ex.write(true, null);
        } finally {
            pooled.release();
        }
    }

    /** The job, or 404 when unknown or owned by another API key. */
    private Job require(Exchange ex, String id) throws Exception {
        if (!IdGenerator.looksLikeId(id)) {
            throw ApiException.notFound("job " + id);
        }
        Job job = queue.find(id).orElseThrow(() -> ApiException.notFound("job " + id));
        ex.requireVisible(job.owner(), "job " + id);
        return job;
    }

    /** A non-negative whole number from the query, {@code absent} when not given. */
    private static long number(String raw, long absent, ErrorCode code, String message) {
        if (raw == null) {
            return absent;
        }
        if (raw.isEmpty() || raw.length() > 18 || !raw.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw code.error(message);
        }
        return Long.parseLong(raw);
    }

    private static List<String> states() {
        return Arrays.stream(JobState.values()).map(JobState::dbValue).toList();
    }

    private static ApiException finished(Job job) {
        return ErrorCode.JOB_FINISHED.error("job " + job.id() + " already " + job.state().dbValue(),
                Map.of("state", job.state().dbValue()));
    }

    private static ApiException notRetryable(Job job, String message) {
        return ErrorCode.JOB_NOT_RETRYABLE.error(message, Map.of("state", job.state().dbValue()));
    }

    private static ApiException noOutput(String message) {
        return ErrorCode.NO_OUTPUT.error(message);
    }
}
