package dev.shadowpatch.audit;

import dev.shadowpatch.workflow.ProcessTestAccess;
import org.camunda.bpm.engine.IdentityService;
import org.camunda.bpm.engine.runtime.ProcessInstance;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The audit record of a finished run answers: what changed, who allowed it, how long it was down. */
class RunAuditTest extends ProcessTestAccess {
    @Autowired RunAudit audit;
    @Autowired IdentityService identity;

    @AfterEach
    void logout() {
        identity.clearAuthentication();
    }

    @Test
    void aPatchedRunTellsWhoStartedAndApprovedItWhatChangedAndTheDowntime() {
        identity.setAuthentication("olga", List.of("operators"));
        ProcessInstance pi = runToEnd();
        identity.clearAuthentication();

        RunAudit.RunRecord run = audit.run(pi.getId()).orElseThrow();
        assertThat(run.liveVm()).isEqualTo(LIVE);
        assertThat(run.state()).isEqualTo("ended");
        assertThat(run.outcome()).isEqualTo("patched");
        assertThat(run.startedBy()).isEqualTo("olga");
        assertThat(run.approvedBy()).as("who completed the approval task").isEqualTo("olga");
        assertThat(run.approvedAt()).isNotNull();
        assertThat(run.mergeRuleCounts()).containsEntry("take-shadow-replace (rule 3)", 42L);
        assertThat(run.downtimeSeconds()).isNotNull().isGreaterThanOrEqualTo(0.0);
        assertThat(run.liveDownAt()).isBeforeOrEqualTo(run.serviceVerifiedAt());
        // the guest double prints "ok" for dpkg-query: the packages are unknown, and the record says why
        assertThat(run.packageChanges().state()).isEqualTo(dev.shadowpatch.evidence.PackageReport.State.UNKNOWN);
        assertThat(run.packageChanges().reason()).isEqualTo("the packages before the patch could not be read:"
                + " dpkg-query printed no package (1 line(s) of something else)");
        assertThat(run.packageChangesSummary()).startsWith("Packages unknown: the packages before the patch could not be read");

        assertThat(audit.runs(LIVE, 10)).extracting(RunAudit.RunRecord::runId).contains(pi.getId());
        assertThat(audit.runs("some-other-vm", 10)).isEmpty();
        assertThat(audit.run("no-such-run")).isEmpty();
        assertThat(run.unreadableFields()).isEmpty();
    }

    @Test
    void theAuditSaysWhoReallyApprovedWhateverTheVariablesSay() {
        ProcessInstance pi = runToEnd();
        // variables are writable by whoever completes a task of the run; the audit does not read them for this
        RunAudit.RunRecord before = audit.run(pi.getId()).orElseThrow();
        assertThat(before.approvedBy()).isEqualTo(OPERATOR);

        ProcessInstance forged = runUntilApproval();
        runtime.setVariable(forged.getId(), "approvedBy", "mallory");
        runtime.setVariable(forged.getId(), "conflictCount", "not a number");
        RunAudit.RunRecord run = audit.run(forged.getId()).orElseThrow();
        assertThat(run.approvedBy()).as("nobody approved it yet").isNull();
        assertThat(run.unreadableFields()).containsExactly("conflictCount (String, expected Integer)");
        assertThat(audit.runs(LIVE, 10)).as("one odd variable does not fail the list").hasSizeGreaterThanOrEqualTo(2);
    }
}
