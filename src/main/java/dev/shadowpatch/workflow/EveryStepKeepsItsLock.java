package dev.shadowpatch.workflow;

import org.camunda.bpm.engine.impl.cfg.AbstractProcessEnginePlugin;
import org.camunda.bpm.engine.impl.cfg.ProcessEngineConfigurationImpl;
import org.camunda.bpm.engine.impl.interceptor.DelegateInterceptor;
import org.springframework.stereotype.Component;

/**
 * Every delegate a job runs keeps the job's lock while it runs ({@link JobLockKeeper}), not only the
 * steps known to be long: a bundle upload to a slow guest, a shadow's shutdown grace, the plan of a
 * release upgrade can each outlast the 90 s lock time, and an expired lock lets this node's own
 * executor start the same step a second time beside the first (seen: a second upload of the patch
 * bundle removed the first's files while its patch started). One place, so no step is forgotten.
 */
@Component
public class EveryStepKeepsItsLock extends AbstractProcessEnginePlugin {
    private final JobLockKeeper keeper;

    public EveryStepKeepsItsLock(JobLockKeeper keeper) {
        this.keeper = keeper;
    }

    @Override
    public void postInit(ProcessEngineConfigurationImpl configuration) {
        DelegateInterceptor engines = configuration.getDelegateInterceptor();
        configuration.setDelegateInterceptor(invocation -> {
            try (JobLockKeeper.Held lock = keeper.keep()) {
                engines.handleInvocation(invocation);
            }
        });
    }
}
