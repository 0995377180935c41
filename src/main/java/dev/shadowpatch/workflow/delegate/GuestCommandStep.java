package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.guest.GuestShell;
import dev.shadowpatch.guest.GuestTarget;
import dev.shadowpatch.workflow.ProcessVariables;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.RunState;
import org.camunda.bpm.engine.delegate.DelegateExecution;

import java.time.Duration;

/** Runs one command in a guest and keeps its evidence: exit code, a preview, the whole output as a file. */
final class GuestCommandStep {
    private final GuestShell guest;
    private final RunSettings settings;

    GuestCommandStep(GuestShell guest, RunSettings settings) {
        this.guest = guest;
        this.settings = settings;
    }

    /** A guest of this run: the shadow is a clone, so both present the live VM's pinned host key. */
    GuestTarget target(DelegateExecution execution, String address) {
        return GuestTarget.direct(address, settings.guestUser())
                .withHostKeyAlias(RunState.requireString(execution, ProcessVariables.LIVE_VM));
    }

    CommandResult run(DelegateExecution execution, String address, String command, Duration timeout,
                      String evidenceVariable) {
        CommandResult result = guest.run(target(execution, address), command, timeout);
        String transcript = "$ " + command + "\n" + result.stdout()
                + (result.stderr().isEmpty() ? "" : "\n--- stderr ---\n" + result.stderr())
                + "\n--- exit code " + result.exitCode() + " after " + result.took().toSeconds() + " s ---\n";
        execution.setVariable(evidenceVariable, RunState.textFile(evidenceVariable + ".txt", transcript));
        execution.setVariable(evidenceVariable + "Tail", RunState.tail(transcript));
        return result;
    }
}
