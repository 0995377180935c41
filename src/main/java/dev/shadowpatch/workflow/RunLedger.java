package dev.shadowpatch.workflow;

import jakarta.annotation.PostConstruct;
import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The facts of a run that decide whether its live VM may go down, kept where no user of the
 * engine's API can edit them: in our own tables of the engine's database, written by our code in the
 * engine's own transactions (Camunda's Spring transaction covers this {@link JdbcTemplate}), so a
 * fact commits or rolls back with the step that made it. Process variables can be overwritten by
 * anyone who completes a task of the run; these rows cannot.
 * <ul>
 *   <li>the request as started (VM, host, window), checked before anything was touched;</li>
 *   <li>one claim per live VM: a second open run of the same VM is refused by the primary key, so two
 *       starts at once cannot both snapshot (no check-then-act);</li>
 *   <li>the decisions on approval tasks, with the SHA-256 of the plan that was approved;</li>
 *   <li>each entry through the window's door, and its exit.</li>
 * </ul>
 */
@Component
public class RunLedger {
    private final JdbcTemplate jdbc;

    public RunLedger(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    /** What the operator asked for, as the run was started; later variable changes do not change it. */
    public record Request(String runId, String liveVm, String host, String windowName, Instant windowStart,
                          Instant windowEnd, String startedBy, Instant startedAt) {}

    /** A decision on an approval task (run or campaign). {@code resolvedPlanSha256}: the plan after the conflict decisions. */
    public record Approval(String taskId, String runId, String decidedBy, Instant decidedAt, ApprovalDecision decision,
                           String planSha256, String resolvedPlanSha256) {
        public boolean approvesPlan(String planSha256) {
            return decision == ApprovalDecision.APPROVE && decidedBy != null
                    && (planSha256.equals(this.planSha256) || planSha256.equals(resolvedPlanSha256));
        }
    }

    /** One passage through the window's door: the window it was let into and when the run came out again. */
    public record WindowEntry(String runId, Instant enteredAt, Instant opens, Instant closes, Instant deadline, Instant exitedAt) {}

    @PostConstruct
    void createTables() {
        table("sp_run_request", "run_id varchar(64) primary key, live_vm varchar(255) not null, host varchar(255),"
                + " window_name varchar(255), window_start timestamp, window_end timestamp, started_by varchar(255),"
                + " started_at timestamp not null");
        table("sp_vm_claim", "vm_key varchar(600) primary key, run_id varchar(64) not null");
        table("sp_approval", "task_id varchar(64) primary key, run_id varchar(64) not null, decided_by varchar(255),"
                + " decided_at timestamp not null, decision varchar(32) not null, plan_sha256 varchar(64),"
                + " resolved_plan_sha256 varchar(64)");
        table("sp_window_entry", "run_id varchar(64) not null, entered_at timestamp not null, opens timestamp not null,"
                + " closes timestamp not null, deadline timestamp not null, exited_at timestamp");
    }

    /** CREATE TABLE IF NOT EXISTS, tolerating another node that created it at the same moment. */
    private void table(String name, String columns) {
        try {
            jdbc.execute("create table if not exists " + name + " (" + columns + ")");
        } catch (DataAccessException raced) {
            jdbc.queryForObject("select count(*) from " + name, Long.class); // it exists now, or this throws
        }
    }

    // ------------------------------------------------------------------ request and VM claim

    public void recordRequest(Request r) {
        jdbc.update("insert into sp_run_request (run_id, live_vm, host, window_name, window_start, window_end,"
                        + " started_by, started_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
                r.runId(), r.liveVm(), r.host(), r.windowName(), ts(r.windowStart()), ts(r.windowEnd()), r.startedBy(),
                ts(r.startedAt()));
    }

    public Optional<Request> request(String runId) {
        return one(jdbc.query("select * from sp_run_request where run_id = ?", (rs, i) -> new Request(
                rs.getString("run_id"), rs.getString("live_vm"), rs.getString("host"), rs.getString("window_name"),
                instant(rs, "window_start"), instant(rs, "window_end"), rs.getString("started_by"),
                instant(rs, "started_at")), runId));
    }

    /** The run that holds the VM, if any. */
    public Optional<String> claimant(String host, String liveVm) {
        return one(jdbc.query("select run_id from sp_vm_claim where vm_key = ?", (rs, i) -> rs.getString(1), vmKey(host, liveVm)));
    }

    /**
     * Claims the VM for the run. The primary key decides between two starts at once: the second
     * insert fails (and with it that start's transaction).
     */
    public void claim(String host, String liveVm, String runId) {
        jdbc.update("insert into sp_vm_claim (vm_key, run_id) values (?, ?)", vmKey(host, liveVm), runId);
    }

    /** Drops a claim whose run no longer exists (deleted by an administrator). */
    public void dropClaim(String host, String liveVm, String staleRunId) {
        jdbc.update("delete from sp_vm_claim where vm_key = ? and run_id = ?", vmKey(host, liveVm), staleRunId);
    }

    public void release(String runId) {
        jdbc.update("delete from sp_vm_claim where run_id = ?", runId);
    }

    private static String vmKey(String host, String liveVm) {
        return (host == null || host.isBlank() ? "" : host) + "/" + liveVm;
    }

    // ------------------------------------------------------------------ approvals

    public void recordDecision(Approval a) {
        jdbc.update("insert into sp_approval (task_id, run_id, decided_by, decided_at, decision, plan_sha256,"
                        + " resolved_plan_sha256) values (?, ?, ?, ?, ?, ?, ?)",
                a.taskId(), a.runId(), a.decidedBy(), ts(a.decidedAt()), a.decision().name(), a.planSha256(),
                a.resolvedPlanSha256());
    }

    /** The plan after the operator's conflict decisions, for the run's latest approval (same transaction as it). */
    public void recordResolvedPlan(String runId, String resolvedPlanSha256) {
        latestDecision(runId).filter(a -> a.decision() == ApprovalDecision.APPROVE && a.resolvedPlanSha256() == null)
                .ifPresent(a -> jdbc.update("update sp_approval set resolved_plan_sha256 = ? where task_id = ?",
                        resolvedPlanSha256, a.taskId()));
    }

    /** The latest decision taken on the run's (or campaign's) approval, whatever it was. */
    public Optional<Approval> latestDecision(String runId) {
        return one(jdbc.query("select * from sp_approval where run_id = ? order by decided_at desc, task_id desc",
                (rs, i) -> new Approval(rs.getString("task_id"), rs.getString("run_id"), rs.getString("decided_by"),
                        instant(rs, "decided_at"), ApprovalDecision.valueOf(rs.getString("decision")),
                        rs.getString("plan_sha256"), rs.getString("resolved_plan_sha256")), runId));
    }

    // ------------------------------------------------------------------ the window's door

    public void enter(WindowEntry e) {
        jdbc.update("insert into sp_window_entry (run_id, entered_at, opens, closes, deadline) values (?, ?, ?, ?, ?)",
                e.runId(), ts(e.enteredAt()), ts(e.opens()), ts(e.closes()), ts(e.deadline()));
    }

    /** The entry the run is inside now: let in by the door and not yet out. */
    public Optional<WindowEntry> openEntry(String runId) {
        return one(jdbc.query("select * from sp_window_entry where run_id = ? and exited_at is null order by entered_at desc",
                (rs, i) -> new WindowEntry(rs.getString("run_id"), instant(rs, "entered_at"), instant(rs, "opens"),
                        instant(rs, "closes"), instant(rs, "deadline"), null), runId));
    }

    public void exit(String runId, Instant at) {
        jdbc.update("update sp_window_entry set exited_at = ? where run_id = ? and exited_at is null", ts(at), runId);
    }

    // ------------------------------------------------------------------ helpers

    private static <T> Optional<T> one(List<T> rows) {
        return rows.isEmpty() ? Optional.empty() : Optional.of(rows.get(0));
    }

    private static Timestamp ts(Instant i) {
        return i == null ? null : Timestamp.from(i);
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        Timestamp t = rs.getTimestamp(column);
        return t == null ? null : t.toInstant();
    }
}
