package dev.shadowpatch.workflow;

import org.camunda.bpm.engine.impl.cfg.ProcessEngineConfigurationImpl;
import org.camunda.bpm.engine.impl.context.Context;
import org.camunda.bpm.engine.impl.jobexecutor.JobExecutorContext;
import org.camunda.bpm.engine.impl.persistence.entity.JobEntity;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Lazy;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

import javax.sql.DataSource;
import java.sql.Timestamp;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Keeps the lock of the job this thread executes for as long as a step that may outlast the lock
 * time runs (the merge of a large patch, a slow shutdown), so that no other node, nor this node's
 * own executor, takes the job up again while it still runs. The lock time stays short (90 s) for
 * the case that matters: a node that dies stops renewing, and another node takes the job over
 * within one lock time.
 *
 * <p>Camunda 7 has no API to extend a job's lock, so the keeper moves the job row's lock expiry
 * forward every third of the lock time, in its own short transaction, and only while the row is
 * still locked by this node's executor ({@code LOCK_OWNER_}). It never changes {@code REV_}, so
 * the job's own transaction commits (or fails) exactly as it would have. A job executed by hand
 * (management API, tests) holds no lock: there is nothing to keep.
 */
@Component
public class JobLockKeeper {
    private static final Logger log = LoggerFactory.getLogger(JobLockKeeper.class);

    /** What {@link #keep} returns: closing it stops the renewals. */
    public interface Held extends AutoCloseable {
        Held NOTHING = () -> { };

        @Override
        void close();
    }

    private final JdbcTemplate jdbc;
    private final ProcessEngineConfigurationImpl engine;
    private final ScheduledThreadPoolExecutor renewals = new ScheduledThreadPoolExecutor(1, r -> {
        Thread t = new Thread(r, "job-lock-keeper");
        t.setDaemon(true);
        return t;
    });

    public JobLockKeeper(DataSource dataSource, @Lazy ProcessEngineConfigurationImpl engine) {
        this.jdbc = new JdbcTemplate(dataSource);
        this.jdbc.setQueryTimeout(10); // a renewal never hangs the keeper
        this.engine = engine;
        this.renewals.setRemoveOnCancelPolicy(true); // every step's handle is closed long before its first renewal
    }

    /** The renewals stop with the application: a closed data source must not be written to from a leftover thread. */
    @jakarta.annotation.PreDestroy
    void stop() {
        renewals.shutdownNow();
    }

    /** Renews the current job's lock until the returned handle is closed. */
    public Held keep() {
        JobExecutorContext context = Context.getJobExecutorContext();
        JobEntity job = context == null ? null : context.getCurrentJob();
        if (job == null || job.getLockOwner() == null || engine.getJobExecutor() == null) {
            return Held.NOTHING;
        }
        long lockMillis = engine.getJobExecutor().getLockTimeInMillis();
        String sql = "update " + engine.getDatabaseTablePrefix() + "ACT_RU_JOB set LOCK_EXP_TIME_ = ?"
                + " where ID_ = ? and LOCK_OWNER_ = ?";
        String id = job.getId();
        String owner = job.getLockOwner();
        long every = Math.max(1, lockMillis / 3);
        ScheduledFuture<?>[] renewal = new ScheduledFuture<?>[1];
        renewal[0] = renewals.scheduleAtFixedRate(() -> {
            try {
                int rows = jdbc.update(sql, new Timestamp(ClockUtil.getCurrentTime().getTime() + lockMillis), id, owner);
                if (rows == 0) {
                    log.warn("Job {} is no longer locked by {}: its lock is not renewed any more", id, owner);
                    renewal[0].cancel(false);
                }
            } catch (RuntimeException e) {
                log.warn("Renewing the lock of job {} failed (tried again in {} ms): {}", id, every, e.getMessage());
            }
        }, every, every, TimeUnit.MILLISECONDS);
        return () -> renewal[0].cancel(false);
    }
}
