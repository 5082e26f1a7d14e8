package io.sluice.app;

import io.sluice.config.SluiceConfig;
import io.sluice.db.Database;
import io.sluice.jobs.JobHandler;
import io.sluice.jobs.PipelineHandler;
import io.sluice.jobs.Pipelines;
import io.sluice.jobs.WorkerPool;
import io.sluice.storage.local.Writeback;
import io.sluice.upload.SqlUploadRepository;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The worker pool running the jobs of {@link JobsModule}'s queue (roles that run jobs), and the periodic sweep of
 * job outputs. Started after the HTTP server, so a job never runs in a process that could not start serving.
 * Running jobs get the same grace as requests, at the same time: the stop begins when the process drains, so a
 * shutdown takes one grace period, not two; the jobs still running then go back to the queue.
 */
public final class WorkersModule implements Module {

    private static final Logger log = LoggerFactory.getLogger(WorkersModule.class);
    /** How often the outputs of pruned jobs are looked for (pruning itself runs hourly in the worker pool). */
    static final Duration OUTPUT_SWEEP_INTERVAL = Duration.ofHours(1);

    private final JobsModule jobs;
    private final SweeperModule sweeper;
    private final Duration grace;
    private final WorkerPool workers;
    private volatile Thread stopping;

    public WorkersModule(SluiceConfig config, JobsModule jobs, StorageModule storage, Database db,
                         AdmissionModule admission, SweeperModule sweeper) {
        this.jobs = jobs;
        this.sweeper = sweeper;
        this.grace = config.server().shutdownGrace();
        SqlUploadRepository uploads = new SqlUploadRepository(db);
        Map<String, JobHandler> handlers = new LinkedHashMap<>();
        Writeback outputWriteback = Writeback.linux();
        for (Pipelines.Pipeline p : jobs.pipelines().all()) {
            handlers.put(p.name(), new PipelineHandler(p, uploads::find, storage.storage().files(), jobs.outputs(),
                    jobs.children(), storage.disk(), outputWriteback));
        }
        // A job starts only while memory is below the watermark that admission applies to uploads. Right after a
        // prune, the pruned jobs' outputs go too.
        workers = new WorkerPool(jobs.queue(), handlers, config.jobs(), admission::memoryOk, jobs.signal(),
                () -> sweeper.execute(this::sweepOutputs));
    }

    private void sweepOutputs() {
        try {
            jobs.sweepOutputs();
        } catch (Exception e) {
            log.warn("sweeping the outputs of pruned jobs failed: {}", e.toString());
        }
    }

    @Override
    public String name() {
        return "workers";
    }

    @Override
    public void start() {
        workers.start();
        sweeper.every(OUTPUT_SWEEP_INTERVAL, "sweeping the outputs of pruned jobs", this::sweepOutputs);
    }

    @Override
    public void drain() {
        stopping = Thread.ofPlatform().name("sluice-jobs-stop").start(() -> workers.stop(grace));
    }

    @Override
    public void stop() {
        Modules.join(stopping);
    }
}
