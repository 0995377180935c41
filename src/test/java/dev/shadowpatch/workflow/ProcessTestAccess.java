package dev.shadowpatch.workflow;

import org.camunda.bpm.engine.runtime.ProcessInstance;

/** Process test support for tests in other packages: a whole run, happy path. */
public abstract class ProcessTestAccess extends ProcessTestSupport {
    protected static final String LIVE = ProcessTestSupport.LIVE;
    protected static final String OPERATOR = ProcessTestSupport.OPERATOR;

    protected ProcessInstance runUntilApproval() {
        return runToApproval();
    }

    protected ProcessInstance runToEnd() {
        ProcessInstance pi = runToApproval();
        approve(pi);
        fireTimer(pi, "windowStarts");
        runUntilWaiting(pi);
        return pi;
    }
}
