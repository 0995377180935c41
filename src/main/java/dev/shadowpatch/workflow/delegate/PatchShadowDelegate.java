package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.guest.ChangeCapture;
import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.guest.GuestJobs;
import dev.shadowpatch.guest.GuestShell;
import dev.shadowpatch.workflow.PatchBundle;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.RunState;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.springframework.stereotype.Component;

import java.util.Optional;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/**
 * Runs the patch command in the shadow VM, detached: the first visit starts the change capture, sends
 * the bundle and starts the command, later visits (the process's poll timer) look at it, until it ends
 * or its timeout stops it. It runs
 * once per run whatever the retries: its job id is the run's. A failing or timed-out patch is a
 * business outcome (an operator fixes the shadow, with the output so far), not an exception; only an
 * unreachable guest is retried.
 */
@Component
public class PatchShadowDelegate implements JavaDelegate {
    private final GuestShell guest;
    private final GuestCommandStep step;
    private final RunSettings settings;
    private final ChangeCapture capture;

    public PatchShadowDelegate(GuestShell guest, GuestJobs jobs, RunSettings settings, ChangeCapture capture) {
        this.guest = guest;
        this.capture = capture;
        this.step = new GuestCommandStep(jobs, settings);
        this.settings = settings;
    }

    @Override
    public void execute(DelegateExecution execution) {
        String address = RunState.requireString(execution, SHADOW_ADDRESS);
        String command = RunState.requireString(execution, PATCH_COMMAND);
        Optional<CommandResult> result;
        if (step.inProgress(execution, PATCH_OUTPUT)) {
            result = step.poll(execution, address, command, settings.patchTimeout(), PATCH_OUTPUT);
        } else {
            // capture first, so the log sees the bundle's arrival too; idempotent: a retry keeps a running capture and its log
            ShadowChangeCapture.begin(capture, execution, step.target(execution, address));
            String jobId = execution.getProcessInstanceId() + "-patch";
            Object bundle = execution.getVariable(PATCH_BUNDLE);
            // never replace the bundle under a patch an earlier, lost attempt already started
            if (bundle != null && !bundle.toString().isBlank() && !step.startedBefore(execution, address, jobId)) {
                PatchBundle.upload(guest, step.target(execution, address),
                        PatchBundle.resolve(settings.bundleRoot(), bundle.toString()));
            }
            result = step.start(execution, address, jobId, command, settings.patchTimeout(), PATCH_OUTPUT);
        }
        execution.setVariable(PATCH_DONE, result.isPresent());
        result.ifPresent(r -> {
            execution.setVariable(PATCH_EXIT_CODE, r.exitCode());
            execution.setVariable(PATCH_SUCCEEDED, r.succeeded());
        });
    }
}
