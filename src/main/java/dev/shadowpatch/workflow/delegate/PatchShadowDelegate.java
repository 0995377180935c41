package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.guest.GuestShell;
import dev.shadowpatch.workflow.PatchBundle;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.RunState;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.springframework.stereotype.Component;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/**
 * Runs the patch command in the shadow VM. A failing patch is a business outcome (an operator fixes
 * the shadow), not an exception; only an unreachable guest is retried.
 */
@Component
public class PatchShadowDelegate implements JavaDelegate {
    private final GuestShell guest;
    private final GuestCommandStep step;
    private final RunSettings settings;

    public PatchShadowDelegate(GuestShell guest, RunSettings settings) {
        this.guest = guest;
        this.step = new GuestCommandStep(guest, settings);
        this.settings = settings;
    }

    @Override
    public void execute(DelegateExecution execution) {
        Object bundle = execution.getVariable(PATCH_BUNDLE);
        if (bundle != null && !bundle.toString().isBlank()) {
            PatchBundle.upload(guest, step.target(execution, RunState.requireString(execution, SHADOW_ADDRESS)),
                    PatchBundle.resolve(settings.bundleRoot(), bundle.toString()));
        }
        CommandResult result = step.run(execution, RunState.requireString(execution, SHADOW_ADDRESS),
                RunState.requireString(execution, PATCH_COMMAND), settings.patchTimeout(), PATCH_OUTPUT);
        execution.setVariable(PATCH_EXIT_CODE, result.exitCode());
        execution.setVariable(PATCH_SUCCEEDED, result.succeeded());
    }
}
