package io.sluice.jobs;

import io.sluice.db.Database;
import io.sluice.notify.Event;
import io.sluice.notify.EventLog;
import io.sluice.upload.Upload;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import static io.sluice.jobs.JobTestSupport.LONG;
import static io.sluice.jobs.JobTestSupport.enqueue;
import static io.sluice.jobs.JobTestSupport.find;
import static io.sluice.jobs.JobTestSupport.job;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

/**
 * {@link PublishingJobQueue#succeedAndClaim} on a real SQLite database and the real {@link EventLog}: the
 * {@code job.succeeded} events commit in the round's transaction, only for successes that took effect, and a failure
 * to record them never holds a success back.
 */
class PublishingJobQueueTest {

    private static final Set<String> PDF = Set.of("pdf");

    @TempDir
    Path dataDir;
    private Database db;
    private SqlJobQueue queue;
    private int ids;

    @BeforeEach
    void setUp() throws Exception {
        db = Database.openSqlite(dataDir);
        queue = new SqlJobQueue(db, () -> "J%08d".formatted(++ids),
                JobTestSupport.config(4, Map.of(), LONG, Duration.ofSeconds(10), Duration.ofSeconds(40)),
                new JobSignal());
    }

    @AfterEach
    void tearDown() {
        db.close();
    }

    @Test
    void succeededJobsGetTheirEventInTheRoundsTransactionAndFencedOutOnesNone() throws Exception {
        EventLog events = new EventLog(db, pipeline -> List.of("http://127.0.0.1:9/hook"), Clock.systemUTC());
        JobQueue publishing = new PublishingJobQueue(queue, events);
        enqueue(db, queue, job("U1", "pdf", 3, LONG));
        enqueue(db, queue, job("U2", "pdf", 3, LONG));
        List<Job> running = queue.claim("w", 2, PDF);
        Job next = enqueue(db, queue, job("U3", "pdf", 3, LONG));
        Lease stale = new Lease(running.get(1).id(), "w", running.get(1).attempt() + 1); // never held

        JobQueue.Round round = publishing.succeedAndClaim(List.of(new JobQueue.Success(running.get(0).lease(), "{}"),
                new JobQueue.Success(stale, "{}")), "w", 1, Map.of("pdf", 1), JobQueue.AlsoWrite.NOTHING);

        assertThat(round.succeeded()).containsExactly(running.get(0).lease());
        assertThat(round.claimed()).extracting(Job::id).containsExactly(next.id());
        List<Event> recorded = events.after(0, null, 100);
        assertThat(recorded).extracting(Event::type, Event::jobId)
                .containsExactly(tuple(JobEvents.JOB_SUCCEEDED, running.get(0).id()));
        assertThat(recorded.getFirst().envelope()).contains("\"state\":\"succeeded\"");
        assertThat(deliveries()).as("its webhook delivery commits with it").isEqualTo(1);
    }

    @Test
    void aFailureToRecordTheEventsStillRecordsTheSuccessesAndClaimsOnce() throws Exception {
        AtomicInteger attempts = new AtomicInteger();
        JobEvents broken = new JobEvents() {
            @Override
            public void jobChanged(String type, Job job) {
            }

            @Override
            public void jobsChanged(Connection tx, String type, List<Job> jobs) throws SQLException {
                attempts.incrementAndGet();
                throw new SQLException("the event log is broken");
            }

            @Override
            public void committed() {
            }

            @Override
            public void uploadCompleted(Connection tx, Upload upload, Job job) {
            }
        };
        JobQueue publishing = new PublishingJobQueue(queue, broken);
        enqueue(db, queue, job("U1", "pdf", 3, LONG));
        Job running = queue.claim("w", 1, PDF).getFirst();
        Job next = enqueue(db, queue, job("U2", "pdf", 3, LONG));

        JobQueue.Round round = publishing.succeedAndClaim(List.of(new JobQueue.Success(running.lease(), "{}")), "w",
                1, Map.of("pdf", 1), JobQueue.AlsoWrite.NOTHING);

        assertThat(attempts.get()).isEqualTo(1);
        assertThat(round.succeeded()).containsExactly(running.lease());
        assertThat(find(queue, running.id()).state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(round.claimed()).extracting(Job::id, Job::attempt)
                .containsExactly(tuple(next.id(), 1));
        assertThat(find(queue, next.id()).attempt()).as("claimed once: the failed transaction's claim rolled back")
                .isEqualTo(1);
    }

    private long deliveries() throws SQLException {
        return db.read(c -> {
            try (var st = c.createStatement(); var rs = st.executeQuery("SELECT COUNT(*) FROM webhook_deliveries")) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }
}
