package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.guest.GuestJobs;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.RunState;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.springframework.stereotype.Component;

import java.util.Optional;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/**
 * Runs the regression test command in the shadow VM, detached and polled like the patch (one job per
 * test attempt); failing or timed-out tests lead to "fix the shadow".
 */
@Component
public class TestShadowDelegate implements JavaDelegate {
    private final GuestCommandStep step;
    private final RunSettings settings;

    public TestShadowDelegate(GuestJobs jobs, RunSettings settings) {
        this.step = new GuestCommandStep(jobs, settings);
        this.settings = settings;
    }

    @Override
    public void execute(DelegateExecution execution) {
        String address = RunState.requireString(execution, SHADOW_ADDRESS);
        String command = RunState.requireString(execution, TEST_COMMAND);
        Integer attempts = (Integer) execution.getVariable(TEST_ATTEMPTS);
        int attempt = attempts == null ? 1 : attempts + 1;
        Optional<CommandResult> result = step.inProgress(execution, TEST_OUTPUT)
                ? step.poll(execution, address, command, settings.testTimeout(), TEST_OUTPUT)
                : step.start(execution, address, execution.getProcessInstanceId() + "-test-" + attempt, command,
                        settings.testTimeout(), TEST_OUTPUT);
        execution.setVariable(TEST_DONE, result.isPresent());
        result.ifPresent(r -> {
            execution.setVariable(TEST_ATTEMPTS, attempt);
            execution.setVariable(TEST_EXIT_CODE, r.exitCode());
            execution.setVariable(TESTS_PASSED, r.succeeded());
        });
    }
}
