package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.guest.GuestShell;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.RunState;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.springframework.stereotype.Component;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/** Runs the regression test command in the shadow VM; failing tests lead to "fix the shadow". */
@Component
public class TestShadowDelegate implements JavaDelegate {
    private final GuestCommandStep step;
    private final RunSettings settings;

    public TestShadowDelegate(GuestShell guest, RunSettings settings) {
        this.step = new GuestCommandStep(guest, settings);
        this.settings = settings;
    }

    @Override
    public void execute(DelegateExecution execution) {
        CommandResult result = step.run(execution, RunState.requireString(execution, SHADOW_ADDRESS),
                RunState.requireString(execution, TEST_COMMAND), settings.testTimeout(), TEST_OUTPUT);
        Integer attempts = (Integer) execution.getVariable(TEST_ATTEMPTS);
        execution.setVariable(TEST_ATTEMPTS, attempts == null ? 1 : attempts + 1);
        execution.setVariable(TEST_EXIT_CODE, result.exitCode());
        execution.setVariable(TESTS_PASSED, result.succeeded());
    }
}
