package dev.shadowpatch.workflow;

import dev.shadowpatch.audit.RunAudit;
import dev.shadowpatch.virt.PowerOff;
import dev.shadowpatch.virt.ShadowClone;
import dev.shadowpatch.virt.VmAddress;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.camunda.bpm.engine.runtime.ProcessInstance;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.camunda.bpm.engine.test.assertions.bpmn.BpmnAwareTests.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.doAnswer;
import static org.mockito.Mockito.when;

/**
 * The predicted downtime from a VM's own history, read from the real engine's history: two patched
 * runs of a VM whose steps take known (engine clock) times, one rolled back and a run of another VM
 * do not count; the next run's approval shows the medians and where each part came from, in its
 * variables and in /api/runs. The VMs are named for this test: other tests' runs are not its history.
 */
class DowntimeHistoryProcessTest extends ProcessTestSupport {
    @Autowired RunAudit audit;

    /** What the next window's steps cost (engine clock seconds): the live VM's shutdown, the merge, its boot. */
    double shutdown, merge, boot;

    @Test
    void theNextRunsPredictionIsTheMedianOfTheVmsPatchedRuns() {
        ClockUtil.setCurrentTime(new Date());
        String vm = "hist-" + UUID.randomUUID().toString().substring(0, 8);
        String other = vm + "-other";
        stub(vm);
        stub(other);

        patch(vm, 7, 4, 30, true);
        patch(vm, 9, 4, 30, true);
        patch(vm, 60, 20, 100, false); // verification fails: rolled back, not history
        patch(other, 50, 50, 200, true);

        ProcessInstance next = toApproval(vm);
        assertThat(next).isWaitingAt("approvePatch");
        String summary = (String) runtime.getVariable(next.getId(), ProcessVariables.PREDICTED_DOWNTIME_SUMMARY);
        assertThat(summary).isEqualTo("shutdown 8.0 s (median of 2 earlier runs of " + vm + "),"
                + " merge 4.0 s (plan: 4.8 MB, 45 operations: 0.1 s, plus 3.9 s " + vm
                + "'s earlier merges took beyond their plans (median of 2 earlier runs)),"
                + " boot 30 s (median of 2 earlier runs of " + vm + ")");
        assertThat(runtime.getVariable(next.getId(), ProcessVariables.PREDICTED_DOWNTIME_SECONDS)).isEqualTo(42L);
        DowntimeForecast.Forecast parts = DowntimeForecast.Forecast.fromJson(
                (String) runtime.getVariable(next.getId(), ProcessVariables.PREDICTED_DOWNTIME_PARTS));
        assertThat(parts.parts()).extracting(DowntimeForecast.Part::part, DowntimeForecast.Part::basis)
                .containsExactly(tuple("shutdown", "history"), tuple("merge", "history"), tuple("boot", "history"));

        RunAudit.RunRecord record = audit.run(next.getId()).orElseThrow();
        assertThat(record.predictedDowntimeSeconds()).isEqualTo(42L);
        assertThat(record.predictedDowntimeSummary()).isEqualTo(summary);
        assertThat(record.predictedDowntime()).isEqualTo(parts);

        // the other VM's first run had no history: the defaults and the shadow's boot (0 s on the test's clock)
        RunAudit.RunRecord first = audit.runs(other, 1).get(0);
        assertThat(first.predictedDowntime().parts()).extracting(DowntimeForecast.Part::basis)
                .containsExactly("default", "plan", "shadow");
    }

    private void stub(String vm) {
        ShadowClone clone = new ShadowClone("run", vm, vm + "-shadow", "vda", Path.of("/images/" + vm + ".qcow2"),
                Path.of("/images/" + vm + ".live.qcow2"), Path.of("/images/" + vm + ".shadow.qcow2"), null);
        ShadowClone merging = clone.withMergeOverlay(Path.of("/images/" + vm + ".merge.qcow2"));
        when(hypervisor.createShadow(eq(vm), any())).thenReturn(clone);
        when(hypervisor.waitForAddress(eq(clone.shadowVm()), any(), any())).thenReturn(new VmAddress(SHADOW_IP, VmAddress.Source.DHCP_LEASE));
        when(hypervisor.waitForAddress(eq(vm), any(), any())).thenReturn(new VmAddress(LIVE_IP, VmAddress.Source.GUEST_AGENT));
        when(hypervisor.isRunning(clone.shadowVm())).thenReturn(true);
        when(hypervisor.createMergeOverlay(eq(clone), any())).thenReturn(merging);
        when(hypervisor.shutdown(eq(vm), any())).thenAnswer(call -> {
            advance(shutdown);
            return PowerOff.CLEAN;
        });
        when(merger.merge(eq(merging), any(), any(), any())).thenAnswer(call -> {
            advance(merge);
            return new ShadowMerger.MergeResult("{}".getBytes(StandardCharsets.UTF_8), Map.of(), 5_000_000L, Duration.ofSeconds(4));
        });
        doAnswer(call -> {
            advance(boot);
            return null;
        }).when(hypervisor).start(vm);
    }

    /** One run of the VM through its window: patched, or rolled back (its verification fails) and abandoned. */
    private void patch(String vm, double shutdownSeconds, double mergeSeconds, double bootSeconds, boolean verifies) {
        shutdown = shutdownSeconds;
        merge = mergeSeconds;
        boot = bootSeconds;
        ProcessInstance pi = toApproval(vm);
        if (!verifies) { // the shadow's tests passed; the live VM's verification fails
            when(guest.run(any(), eq(TEST), any())).thenReturn(failed(TEST));
        }
        approve(pi);
        fireTimer(pi, "windowStarts");
        runUntilWaiting(pi);
        if (!verifies) {
            completeTask(pi, "reviewRollback", Map.of(ProcessVariables.ROLLBACK_DECISION, "abandon"));
            runUntilWaiting(pi);
            when(guest.run(any(), eq(TEST), any())).thenAnswer(call -> ok(TEST));
        }
        assertThat(pi).isEnded().hasPassed(verifies ? "patched" : "rolledBack");
        advance(3600); // the next run an hour later
    }

    private ProcessInstance toApproval(String vm) {
        Instant now = ClockUtil.getCurrentTime().toInstant();
        ProcessInstance pi = startRun(vm, now.minusSeconds(60), now.plus(Duration.ofHours(2)), Map.of());
        runUntilWaiting(pi);
        return pi;
    }

    private static void advance(double seconds) {
        ClockUtil.setCurrentTime(new Date(ClockUtil.getCurrentTime().getTime() + Math.round(seconds * 1000)));
    }
}
