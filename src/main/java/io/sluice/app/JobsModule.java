package io.sluice.app;

import io.micrometer.core.instrument.MeterRegistry;
import io.sluice.config.SluiceConfig;
import io.sluice.config.StorageConfig;
import io.sluice.db.Database;
import io.sluice.isolation.ChildProcesses;
import io.sluice.jobs.JobOutputs;
import io.sluice.jobs.JobQueue;
import io.sluice.jobs.JobSignal;
import io.sluice.jobs.JobState;
import io.sluice.jobs.OutputStore;
import io.sluice.jobs.Pipelines;
import io.sluice.jobs.PublishingJobQueue;
import io.sluice.jobs.SqlJobQueue;
import io.sluice.jobs.StoredJobOutputs;
import io.sluice.notify.EventLog;
import io.sluice.ops.metrics.CachedQueueStats;
import io.sluice.ops.metrics.MeteredJobQueue;
import io.sluice.ops.metrics.ServerMetrics;
import io.sluice.processors.Processors;
import io.sluice.storage.ComposedStore;
import io.sluice.upload.IdGenerator;

import java.io.IOException;
import java.sql.SQLException;
import java.time.Instant;

/**
 * The durable job queue (every role: the API enqueues, workers claim), the configured pipelines, job outputs and
 * the child processes of job attempts. Running the jobs is {@link WorkersModule}'s.
 */
public final class JobsModule implements Module {

    private final Pipelines pipelines;
    private final JobSignal signal = new JobSignal();
    private final JobQueue queue;
    private final CachedQueueStats queueStats;
    private final JobOutputs outputs;
    private final ChildProcesses children;

    /**
     * @param runsJobs whether this process runs jobs: it then sweeps what attempts that died here left (half-written
     *                 outputs, running programs) before any job can run again
     */
    public JobsModule(SluiceConfig config, Database db, ComposedStore store, EventLog events, Pipelines pipelines,
                      IdGenerator ids, MeterRegistry metrics, boolean runsJobs) throws IOException {
        this.pipelines = pipelines;
        queue = new MeteredJobQueue(
                new PublishingJobQueue(new SqlJobQueue(db, ids::next, config.jobs(), signal), events), metrics);
        queueStats = new CachedQueueStats(queue);
        ServerMetrics.bindJobs(metrics, queueStats, pipelines.all().stream().map(Pipelines.Pipeline::name).toList());
        // Outputs stay in place on local disk; with shared storage they go into the store, so that any API node
        // serves what a worker on another machine wrote (temporaries stay on the worker's disk either way).
        OutputStore localOutputs = new OutputStore(config.dataDir());
        outputs = config.storage().type() == StorageConfig.Type.LOCAL ? localOutputs
                : new StoredJobOutputs(localOutputs, store);
        // Programs and child JVMs of attempts: tied to this process, and recorded so a crash's leftovers are killed.
        children = ChildProcesses.forDataDir(config.dataDir());
        if (runsJobs) {
            // Half-written outputs are the workers' business, and those of attempts running in another worker on
            // the same data directory stay.
            outputs.sweepTemporary(this::attemptRunning);
            // What a server that died here left running (no parent-death signal without setpriv) goes before any
            // job can run again.
            children.killLeftovers();
        }
    }

    /** The pipelines of {@code pipelines.*}, their processors' options checked (a refusal stops start-up). */
    public static Pipelines pipelines(SluiceConfig config) {
        return config.pipelines().isEmpty() ? Pipelines.none()
                : Pipelines.configure(config.pipelines(), Processors.available());
    }

    /** Running means holding a live lease: the files of a crashed attempt go as soon as its lease ran out. */
    private boolean attemptRunning(String id, int attempt) {
        try {
            return queue.find(id).map(j -> j.state() == JobState.RUNNING && j.attempt() == attempt
                    && j.leaseExpiresAt() != null && j.leaseExpiresAt().isAfter(Instant.now())).orElse(false);
        } catch (SQLException e) {
            return true; // keep it; decide next time
        }
    }

    /** Removes the outputs of pruned jobs, and what a crashed attempt left while its lease still ran at start. */
    void sweepOutputs() throws IOException {
        outputs.sweepTemporary(this::attemptRunning);
        outputs.sweepOrphans(id -> {
            try {
                return queue.find(id).isPresent();
            } catch (SQLException e) {
                return true; // keep it; decide next time
            }
        });
    }

    public Pipelines pipelines() {
        return pipelines;
    }

    public JobSignal signal() {
        return signal;
    }

    public JobQueue queue() {
        return queue;
    }

    public CachedQueueStats queueStats() {
        return queueStats;
    }

    public JobOutputs outputs() {
        return outputs;
    }

    public ChildProcesses children() {
        return children;
    }

    @Override
    public String name() {
        return "jobs";
    }

    /** After the workers, whose handlers killed their processes: any that escaped get their parent-death signal. */
    @Override
    public void stop() {
        children.close();
    }
}
