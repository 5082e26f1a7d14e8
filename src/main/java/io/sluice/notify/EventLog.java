package io.sluice.notify;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.api.Json;
import io.sluice.db.Database;
import io.sluice.jobs.Job;
import io.sluice.jobs.JobEvents;
import io.sluice.jobs.JobSignal;
import io.sluice.jobs.JobView;
import io.sluice.upload.Upload;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The {@code events} table: every event gets the next id there, and, when it has webhook targets, a pending row in
 * {@code webhook_deliveries} in the same transaction, so an event is never recorded without its delivery (and a
 * delivery survives restarts). {@code job.progress} gets a delivery only when {@code webhooks.progressInterval} is
 * set, and then at most once per interval per job.
 *
 * <p>{@link #signal()} is raised after each record; the webhook sender and the SSE broadcaster also poll, because
 * an event recorded inside an upload's transaction is signalled before that transaction commits. On PostgreSQL an
 * event recorded by another process raises it too (LISTEN/NOTIFY on {@value #CHANNEL}).
 *
 * <p>Readers tail the table with {@code id > last} ({@link EventStreams}), which is only safe if ids become visible
 * in id order. SQLite has one writer at a time, so they do. On PostgreSQL two transactions can take ids 7 and 8 and
 * commit 8 first: a reader would move past 7 before it appears and never send it. So every event insert first takes
 * a transaction-level advisory lock ({@link #INSERT_LOCK}) that it holds until its commit: ids are then handed out
 * and committed one transaction after the other. The cost is that event-recording transactions commit one at a
 * time (each holds the lock only from its event insert to its commit).
 */
public final class EventLog implements JobEvents {

    private static final Logger log = LoggerFactory.getLogger(EventLog.class);
    /** The NOTIFY channel of new events (PostgreSQL). */
    static final String CHANNEL = "sluice_events";
    /** The advisory lock key that serializes event inserts on PostgreSQL ("sluice-e" in ASCII). */
    static final long INSERT_LOCK = 0x736c_7569_6365_2d65L;
    /** Events are kept this long for {@code Last-Event-ID} resumption. */
    public static final Duration RETENTION = Duration.ofDays(7);

    private final Database db;
    private final Function<String, List<String>> targets;
    private final Clock clock;
    private final long progressIntervalMillis;
    /** Per running job, when its last progress delivery was recorded; removed when the job ends. */
    private final Map<String, Long> progressSent = new ConcurrentHashMap<>();
    private final JobSignal signal = new JobSignal();
    private final ObjectMapper json = Json.mapper();

    /** @param targets the webhook URLs of a pipeline's events, in the order to try them (empty: no delivery) */
    public EventLog(Database db, Function<String, List<String>> targets, Clock clock) {
        this(db, targets, clock, Duration.ZERO);
    }

    /** @param progressInterval {@code job.progress} goes to webhooks at most this often per job; zero: never */
    public EventLog(Database db, Function<String, List<String>> targets, Clock clock, Duration progressInterval) {
        this.progressIntervalMillis = progressInterval.toMillis();
        this.db = Objects.requireNonNull(db, "db");
        this.targets = Objects.requireNonNull(targets, "targets");
        this.clock = Objects.requireNonNull(clock, "clock");
        try {
            db.listen(CHANNEL, payload -> signal.signal());
        } catch (SQLException e) {
            throw new IllegalStateException("cannot listen for events: " + e.getMessage(), e);
        }
    }

    /** Raised after every recorded event. */
    public JobSignal signal() {
        return signal;
    }

    @Override
    public void jobChanged(String type, Job job) {
        try {
            db.write(tx -> record(tx, type, job.id(), job.uploadId(), job.pipeline(),
                    Map.of("job", JobView.of(job))));
            signal.signal();
        } catch (SQLException | RuntimeException e) {
            log.warn("event {} of job {} not recorded: {}", type, job.id(), e.toString());
        }
    }

    @Override
    public void jobsChanged(Connection tx, String type, List<Job> jobs) throws SQLException {
        for (Job job : jobs) {
            record(tx, type, job.id(), job.uploadId(), job.pipeline(), Map.of("job", JobView.of(job)));
        }
    }

    @Override
    public void committed() {
        signal.signal();
    }

    @Override
    public void uploadCompleted(Connection tx, Upload upload, Job job) throws SQLException {
        Map<String, Object> u = new LinkedHashMap<>();
        u.put("id", upload.id());
        u.put("filename", upload.filename());
        u.put("size", upload.size());
        u.put("contentType", upload.contentType());
        if (upload.sha256() != null) {
            u.put("sha256", upload.sha256());
        }
        u.put("createdAt", upload.createdAt());
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("upload", u);
        data.put("job", JobView.of(job));
        record(tx, UPLOAD_COMPLETED, job.id(), upload.id(), job.pipeline(), data);
        signal.signal();
    }

    /** Inserts the event, and its delivery when it has targets, in {@code tx}. Returns the event id. */
    long record(Connection tx, String type, String jobId, String uploadId, String pipeline, Object data)
            throws SQLException {
        long now = clock.millis();
        String dataJson = write(data);
        long id;
        db.serialize(tx, INSERT_LOCK);
        try (PreparedStatement ps = tx.prepareStatement("INSERT INTO events (type, job_id, upload_id, payload, "
                + "created_at, owner) VALUES (?, ?, ?, ?, ?, (SELECT owner FROM jobs WHERE id = ?)) RETURNING id")) {
            ps.setString(1, type);
            ps.setString(2, jobId);
            ps.setString(3, uploadId);
            ps.setString(4, dataJson);
            ps.setLong(5, now);
            ps.setString(6, jobId);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                id = rs.getLong(1);
            }
        }
        List<String> urls = toWebhooks(type, jobId, now) ? targets.apply(pipeline) : List.of();
        if (!urls.isEmpty()) {
            Deliveries.insert(tx, id, type, envelope(id, type, now, dataJson), write(urls), now);
        }
        db.notify(tx, CHANNEL, "");
        return id;
    }

    private boolean toWebhooks(String type, String jobId, long now) {
        if (!type.equals(JOB_PROGRESS)) {
            if (jobId != null && !type.equals(UPLOAD_COMPLETED)) {
                progressSent.remove(jobId); // the job ended
            }
            return true;
        }
        if (progressIntervalMillis <= 0 || jobId == null) {
            return false;
        }
        boolean[] due = new boolean[1];
        progressSent.compute(jobId, (id, last) -> {
            due[0] = last == null || now - last >= progressIntervalMillis;
            return due[0] ? now : last;
        });
        return due[0];
    }

    /** Events after {@code afterId} (of one job when {@code jobId} is not null), oldest first, at most {@code limit}. */
    public List<Event> after(long afterId, String jobId, int limit) throws SQLException {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT id, type, job_id, payload, created_at, owner FROM events "
                    + "WHERE id > ?" + (jobId == null ? "" : " AND job_id = ?") + " ORDER BY id LIMIT ?")) {
                int i = 1;
                ps.setLong(i++, afterId);
                if (jobId != null) {
                    ps.setString(i++, jobId);
                }
                ps.setInt(i, limit);
                List<Event> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        long id = rs.getLong(1);
                        String type = rs.getString(2);
                        out.add(new Event(id, type, rs.getString(3),
                                envelope(id, type, rs.getLong(5), rs.getString(4)), rs.getString(6)));
                    }
                }
                return out;
            }
        });
    }

    /** The newest event id, 0 when there is none. */
    public long lastId() throws SQLException {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT COALESCE(MAX(id), 0) FROM events");
                 ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }

    /** Deletes events older than {@link #RETENTION}. The id sequence continues regardless (AUTOINCREMENT). */
    public int prune() throws SQLException {
        long cutoff = clock.millis() - RETENTION.toMillis();
        return db.write(c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM events WHERE created_at < ?")) {
                ps.setLong(1, cutoff);
                return ps.executeUpdate();
            }
        });
    }

    private String envelope(long id, String type, long createdAt, String dataJson) {
        ObjectNode env = json.createObjectNode();
        env.put("id", id);
        env.put("type", type);
        env.put("createdAt", Instant.ofEpochMilli(createdAt).toString());
        try {
            env.set("data", json.readTree(dataJson));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored event " + id + " is not JSON", e);
        }
        return env.toString();
    }

    private String write(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise an event", e);
        }
    }
}
