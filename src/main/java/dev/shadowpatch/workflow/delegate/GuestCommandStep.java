package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.guest.GuestException;
import dev.shadowpatch.guest.GuestJobs;
import dev.shadowpatch.guest.GuestJobs.JobStatus;
import dev.shadowpatch.guest.GuestTarget;
import dev.shadowpatch.workflow.ProcessVariables;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.RunState;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.impl.util.ClockUtil;

import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Optional;

/**
 * One command in a guest as a step that holds no job lock while it runs: started detached (once per
 * job id, whatever the retries or which node takes the step over), given a few seconds to end, and
 * otherwise polled by the process's timer until it ends or its timeout passes (then it is stopped
 * and its output so far is the evidence). Keeps the evidence: exit code, a preview, the whole output
 * as a file. Variables {@code <evidence>Job} and {@code <evidence>StartedAt} exist while it runs
 * ({@code <evidence>UnreachableSince} while looks at it fail to reach the guest).
 */
final class GuestCommandStep {
    /** Exit code of a command stopped at its timeout (as timeout(1) reports it). */
    static final int TIMED_OUT = 124;
    /** Suffix of the variable holding when the guest first failed to answer a look (while it does not). */
    static final String UNREACHABLE_SINCE = "UnreachableSince";

    private final GuestJobs jobs;
    private final RunSettings settings;

    GuestCommandStep(GuestJobs jobs, RunSettings settings) {
        this.jobs = jobs;
        this.settings = settings;
    }

    /** A guest of this run: the shadow is a clone, so both present the live VM's pinned host key. */
    GuestTarget target(DelegateExecution execution, String address) {
        return target(execution, address, settings);
    }

    static GuestTarget target(DelegateExecution execution, String address, RunSettings settings) {
        return GuestTarget.direct(address, settings.guestUser())
                .withHostKeyAlias(RunState.requireString(execution, ProcessVariables.LIVE_VM));
    }

    /** Whether this step's command was started and has not been seen to end yet. */
    boolean inProgress(DelegateExecution execution, String evidenceVariable) {
        return execution.getVariable(evidenceVariable + "Job") != null;
    }

    /** Whether job {@code jobId} was started in the guest before (by an attempt whose transaction was lost). */
    boolean startedBefore(DelegateExecution execution, String address, String jobId) {
        return jobs.poll(target(execution, address), jobId).state() != GuestJobs.State.NOT_STARTED;
    }

    /**
     * Starts the command as job {@code jobId} (nothing happens in the guest if it was started before)
     * and waits up to {@code commandSettle} for it.
     *
     * @return its result when it ended within that time
     */
    Optional<CommandResult> start(DelegateExecution execution, String address, String jobId, String command,
                                  Duration timeout, String evidenceVariable) {
        jobs.start(target(execution, address), jobId, command);
        execution.setVariable(evidenceVariable + "Job", jobId);
        if (execution.getVariable(evidenceVariable + "StartedAt") == null) {
            execution.setVariable(evidenceVariable + "StartedAt", ClockUtil.getCurrentTime());
        }
        long settleUntil = System.nanoTime() + settings.commandSettle().toNanos();
        while (true) {
            Optional<CommandResult> done = poll(execution, address, command, timeout, evidenceVariable);
            if (done.isPresent() || System.nanoTime() > settleUntil) {
                return done;
            }
            sleep(250);
        }
    }

    /**
     * One look at the running command.
     *
     * @return its result once it ended, or was stopped at its timeout; empty while it runs
     */
    Optional<CommandResult> poll(DelegateExecution execution, String address, String command, Duration timeout,
                                 String evidenceVariable) {
        String jobId = (String) execution.getVariable(evidenceVariable + "Job");
        GuestTarget target = target(execution, address);
        Instant started = ((Date) execution.getVariable(evidenceVariable + "StartedAt")).toInstant();
        Duration ran = Duration.between(started, ClockUtil.getCurrentTime().toInstant());
        JobStatus status;
        try {
            status = jobs.poll(target, jobId);
        } catch (GuestException unreachable) {
            if (stillWaiting(execution, evidenceVariable, ran, timeout)) {
                return Optional.empty();
            }
            throw unreachable;
        }
        execution.removeVariable(evidenceVariable + UNREACHABLE_SINCE);
        String note;
        int exitCode;
        switch (status.state()) {
            case FINISHED -> {
                note = "exit code " + status.exitCode() + " after " + ran.toSeconds() + " s";
                exitCode = status.exitCode();
            }
            case RUNNING -> {
                if (ran.compareTo(timeout) <= 0) {
                    return Optional.empty();
                }
                status = jobs.stop(target, jobId);
                note = "timed out after " + ran.toSeconds() + " s (limit " + timeout.toSeconds()
                        + " s): stopped; the output above is what it wrote until then";
                exitCode = TIMED_OUT;
            }
            default -> { // LOST (killed, guest rebooted) or NOT_STARTED (its /run is gone)
                note = "ended without an exit code after at most " + ran.toSeconds() + " s (job " + status.state()
                        .name().toLowerCase().replace('_', ' ') + ": killed, or the guest rebooted)";
                exitCode = -1;
            }
        }
        String transcript = "$ " + command + "\n" + status.output()
                + (status.outputBytes() > status.output().length() ? "\n[only the last " + status.output().length()
                + " of " + status.outputBytes() + " bytes are kept]" : "")
                + "\n--- " + note + " ---\n";
        execution.setVariable(evidenceVariable, RunState.textFile(evidenceVariable + ".txt", transcript));
        execution.setVariable(evidenceVariable + "Tail", RunState.tail(transcript));
        execution.removeVariable(evidenceVariable + "Job");
        execution.removeVariable(evidenceVariable + "StartedAt");
        return Optional.of(new CommandResult(command, exitCode, status.output(), "", ran));
    }

    /**
     * Whether a look that could not reach the guest is waited out: the command runs on, detached,
     * and a patch restarts sshd (openssh-server's upgrade) or loads a slow guest so that a connection
     * fails now and then; each failed look used to cost the step one of its few retries. A guest
     * unreachable for a whole boot timeout, or past the command's own timeout, fails the step.
     */
    private boolean stillWaiting(DelegateExecution execution, String evidenceVariable, Duration ran, Duration timeout) {
        Instant now = ClockUtil.getCurrentTime().toInstant();
        Date since = (Date) execution.getVariable(evidenceVariable + UNREACHABLE_SINCE);
        if (since == null) {
            since = Date.from(now);
            execution.setVariable(evidenceVariable + UNREACHABLE_SINCE, since);
        }
        return ran.compareTo(timeout) <= 0 && Duration.between(since.toInstant(), now).compareTo(settings.bootTimeout()) < 0;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a guest command", e);
        }
    }
}
