package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.guest.CommandResult;
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
 * as a file. Variables {@code <evidence>Job} and {@code <evidence>StartedAt} exist while it runs.
 */
final class GuestCommandStep {
    /** Exit code of a command stopped at its timeout (as timeout(1) reports it). */
    static final int TIMED_OUT = 124;

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
        JobStatus status = jobs.poll(target, jobId);
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

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a guest command", e);
        }
    }
}
