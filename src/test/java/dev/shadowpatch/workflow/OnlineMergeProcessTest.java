package dev.shadowpatch.workflow;

import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.merge.DetectInfo;
import dev.shadowpatch.merge.Entry;
import dev.shadowpatch.merge.MergePlan;
import dev.shadowpatch.merge.Op;
import dev.shadowpatch.merge.PathFacts;
import dev.shadowpatch.merge.Rule;
import dev.shadowpatch.merge.fs.FileType;
import dev.shadowpatch.restart.RestartClass;
import dev.shadowpatch.restart.RestartNeed;
import org.camunda.bpm.engine.runtime.ProcessInstance;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentMatchers;
import org.mockito.InOrder;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Date;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.camunda.bpm.engine.test.assertions.bpmn.BpmnAwareTests.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.inOrder;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

/**
 * The online merge's paths through the window (issue 16, part 3): merged in the running VM, the
 * reboot path when staging finds the live VM changed, the rollback when the applier stops half-way,
 * and the approval that asks for online where it is not offered.
 */
class OnlineMergeProcessTest extends ProcessTestSupport {
    static final String NGINX = "nginx.service";

    /** A plan of one replaced binary on the root file system, as the real plan's JSON has it. */
    static byte[] onePathPlan() {
        Entry old = new Entry(FileType.FILE, 0755, 0, 0, 10, null, null, null, Map.of(), "a", 11, 1, 100, 0);
        Entry patched = new Entry(FileType.FILE, 0755, 0, 0, 12, null, null, null, Map.of(), "b", 12, 1, 200, 0);
        Op op = new Op("usr/sbin/nginx", Op.Action.WRITE, Rule.TAKE_SHADOW_REPLACE, null, null, null, 12, null,
                PathFacts.fromEntries("usr/sbin/nginx", old, old, patched, false), null, null);
        MergePlan plan = new MergePlan(List.of(op), new DetectInfo(1, true, 0, List.of(), List.of(), List.of(), 0, 0));
        return new FileSystemPlans(Map.of("/", plan)).toJson().getBytes(StandardCharsets.UTF_8);
    }

    @BeforeEach
    void aServicesClassPlan() {
        when(merger.plan(any(), any())).thenReturn(new ShadowMerger.PlanResult(onePathPlan(),
                Map.of("take-shadow-replace (rule 3)", 1L), 12L, 1, List.of(), List.of()));
        when(hypervisor.snapshotToMergeOverlay(any(), any())).thenReturn(merging);
        liveRuns(LIVE_CODE);
    }

    /** What the live VM runs: PID 1, nginx, and cron on code replaced long ago (not this merge's to restart). */
    static final String LIVE_CODE = "U\tinit.scope\t/usr/lib/systemd/systemd\nU\tnginx.service\t/usr/sbin/nginx\n"
            + "U\tcron.service\t/usr/sbin/cron (deleted)\n"
            + "F\t/usr/lib/systemd/systemd\t1\t10\t100\t1000\nF\t/usr/sbin/nginx\t1\t11\t100\t10\n";

    void liveRuns(String capture) {
        when(guest.run(eq(liveTarget()), eq(dev.shadowpatch.restart.RunningCode.CAPTURE), any()))
                .thenAnswer(call -> new CommandResult(call.getArgument(1), 0, capture, "", Duration.ofSeconds(1)));
    }

    /** The run at its approval, the shadow having found that restarting nginx is enough. */
    ProcessInstance atApprovalWithServicesClass() {
        ProcessInstance pi = runToApproval();
        assertThat(pi).isWaitingAt("approvePatch");
        RestartNeed need = new RestartNeed(RestartClass.SERVICES, List.of(NGINX), List.of("nginx.service maps /usr/sbin/nginx"),
                List.of(), 1.5, "systemctl restart of 1 unit(s)");
        runtime.setVariable(pi.getId(), ProcessVariables.RESTART_NEED, dev.shadowpatch.workflow.RunState.jsonFile("restart-need.json",
                need.toJson().getBytes(StandardCharsets.UTF_8)));
        runtime.setVariable(pi.getId(), ProcessVariables.RESTART_CLASS, "services");
        // what ComputeMergePlanDelegate records from these (its shadow's capture is a test double here)
        runtime.setVariable(pi.getId(), ProcessVariables.ONLINE_MERGE_OFFERED, true);
        return pi;
    }

    void approveOnlineAndOpenTheWindow(ProcessInstance pi) {
        completeTask(pi, "approvePatch", Map.of(ProcessVariables.APPROVAL_DECISION, "approve", ProcessVariables.MERGE_MODE, "online"));
        fireTimer(pi, "windowStarts");
        runUntilWaiting(pi);
    }

    static boolean has(String command, String part) {
        return command != null && command.contains(part);
    }

    static CommandResult exit(String command, int code, String stderr) {
        return new CommandResult(command, code, "", stderr, Duration.ofSeconds(1));
    }

    @Test
    void aServicesClassPatchIsMergedInTheRunningVmWithoutAReboot() {
        ProcessInstance pi = atApprovalWithServicesClass();
        approveOnlineAndOpenTheWindow(pi);

        assertThat(pi).isEnded().hasPassedInOrder("stageOnline", "applyOnline", "verifyLive", "cleanupPatched")
                .hasNotPassed("quiesceLive", "mergeChanges", "restartLive", "rollbackLive");
        InOrder order = inOrder(hypervisor, guest, merger);
        order.verify(merger).writeOnlinePayload(eq(clone), any(), any(), any(), any());
        order.verify(guest).run(eq(liveTarget()), ArgumentMatchers.argThat(c -> has(c, "sp-online-apply stage /var/lib/sp-online/run")), any());
        // the units stop (what was active is remembered), the rollback point of every disk, then the apply
        order.verify(guest).run(eq(liveTarget()), ArgumentMatchers.argThat(c -> has(c, "> active-before")
                && has(c, "systemctl stop '" + NGINX + "'")), any());
        order.verify(hypervisor).snapshotToMergeOverlay(eq(clone), eq(clone.targets()));
        order.verify(guest).run(eq(liveTarget()), ArgumentMatchers.argThat(c -> has(c, "sp-online-apply apply /var/lib/sp-online/run")
                && has(c, "systemctl restart '" + NGINX + "'") && has(c, "comm -23 active-before active-after | xargs -r systemctl start")), any());
        order.verify(guest).run(eq(liveTarget()), eq(TEST), any());
        order.verify(hypervisor).cleanup(any());
        verify(hypervisor, never()).shutdown(eq(LIVE), any());
        verify(hypervisor, never()).start(LIVE);
        assertThat(historic(pi, ProcessVariables.MERGE_MODE_RAN)).isEqualTo("online");
        assertThat(historic(pi, ProcessVariables.OUTCOME)).isEqualTo("patched");
        assertThat(historic(pi, ProcessVariables.DOWNTIME_SECONDS)).isInstanceOf(Double.class);
        assertThat(historic(pi, ProcessVariables.MERGE_RULE_COUNTS).toString()).contains("\"take-shadow-replace (rule 3)\":1");
        // down from the units' stop (the apply), not from the door's entry before the stage and the snapshot
        Date down = (Date) historic(pi, ProcessVariables.LIVE_DOWN_AT);
        Date applyStarted = engine.getHistoryService().createHistoricActivityInstanceQuery().processInstanceId(pi.getId())
                .activityId("applyOnline").singleResult().getStartTime();
        assertThat(down).isAfterOrEqualTo(applyStarted);
    }

    @Test
    void aPathTheLiveVmChangedTakesTheRebootPathInTheSameWindow() {
        when(guest.run(eq(liveTarget()), ArgumentMatchers.argThat(c -> has(c, " stage ")), any())).thenAnswer(call -> exit(call.getArgument(1), 3,
                "sp-online-apply: changed since the plan: /usr/sbin/nginx (planned 32768:11:10:100.000000000, now 32768:11:14:300.000000000)\n"));
        ProcessInstance pi = atApprovalWithServicesClass();
        approveOnlineAndOpenTheWindow(pi);

        assertThat(pi).isEnded().hasPassedInOrder("stageOnline", "quiesceLive", "mergeChanges", "restartLive", "verifyLive", "cleanupPatched")
                .hasNotPassed("applyOnline", "rollbackLive");
        verify(guest).run(eq(liveTarget()), ArgumentMatchers.argThat(c -> has(c, "sp-online-apply unstage")), any());
        verify(hypervisor, never()).snapshotToMergeOverlay(any(), any());
        assertThat(historic(pi, ProcessVariables.MERGE_MODE_RAN)).isEqualTo("reboot");
        assertThat((String) historic(pi, ProcessVariables.ONLINE_FALLBACK)).contains("changed since the plan: /usr/sbin/nginx");
        assertThat(historic(pi, ProcessVariables.OUTCOME)).isEqualTo("patched");
    }

    @Test
    void aLiveVmWhosePid1MapsAFileTheMergeReplacesTakesTheRebootPath() {
        liveRuns("U\tinit.scope\t/usr/lib/systemd/systemd\nU\tinit.scope\t/usr/sbin/nginx\n"
                + "F\t/usr/lib/systemd/systemd\t1\t10\t100\t1000\nF\t/usr/sbin/nginx\t1\t11\t100\t10\n");
        ProcessInstance pi = atApprovalWithServicesClass();
        approveOnlineAndOpenTheWindow(pi);

        assertThat(pi).isEnded().hasPassed("stageOnline", "quiesceLive", "mergeChanges").hasNotPassed("applyOnline");
        verify(merger, never()).writeOnlinePayload(any(), any(), any(), any(), any());
        assertThat((String) historic(pi, ProcessVariables.ONLINE_FALLBACK))
                .isEqualTo("the live VM runs code only a reboot replaces: PID 1 maps /usr/sbin/nginx");
    }

    /** The shadow reinstalled its boot loader: only the reboot path copies it (a running disk never gets it). */
    @Test
    void aShadowThatReinstalledItsBootLoaderTakesTheRebootPath() {
        when(merger.carryBootLoaders(any(), any())).thenReturn(List.of(ShadowPatchingProcessTest.GRUB));
        ProcessInstance pi = atApprovalWithServicesClass();
        runtime.setVariable(pi.getId(), ProcessVariables.BOOT_LOADER_DISKS, "vda");
        approveOnlineAndOpenTheWindow(pi);

        assertThat(pi).isEnded().hasPassed("stageOnline", "quiesceLive", "mergeChanges").hasNotPassed("applyOnline");
        verify(merger, never()).writeOnlinePayload(any(), any(), any(), any(), any());
        verify(merger).carryBootLoaders(any(), eq(java.util.Set.of("vda")));
        assertThat((String) historic(pi, ProcessVariables.ONLINE_FALLBACK))
                .isEqualTo("the decided plan cannot be merged online: a boot loader install (grub-install) (vda)");
    }

    @Test
    void anApplierThatStopsHalfWayIsRolledBackToTheSnapshotWithoutARetry() {
        when(guest.run(eq(liveTarget()), ArgumentMatchers.argThat(c -> has(c, " apply ")), any())).thenAnswer(call -> exit(call.getArgument(1), 104,
                "sp-online-apply: applied 3 of 7 operations; mv /usr/sbin/nginx failed: the live VM is half-merged, roll it back\n"));
        ProcessInstance pi = atApprovalWithServicesClass();
        approveOnlineAndOpenTheWindow(pi);

        assertThat(pi).isWaitingAt("reviewRollback").hasPassed("applyOnline", "rollbackLive")
                .hasNotPassed("verifyLive", "quiesceLive");
        verify(guest, org.mockito.Mockito.times(1)).run(eq(liveTarget()), ArgumentMatchers.argThat(c -> has(c, " apply ")), any());
        verify(hypervisor).rollback(any());
        verify(hypervisor).start(LIVE);
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.ROLLBACK_REASON))
                .startsWith("The online merge stopped in the live VM: ").contains("applied 3 of 7 operations")
                .endsWith("rolled back to the snapshot taken as it began (what the VM wrote since then is not kept)");
    }

    @Test
    void onlineIsRefusedAtTheApprovalWhereItIsNotOffered() {
        ProcessInstance pi = runToApproval();
        runtime.setVariable(pi.getId(), ProcessVariables.ONLINE_MERGE_OFFERED, false);
        runtime.setVariable(pi.getId(), ProcessVariables.ONLINE_MERGE_BLOCKERS, "the patch needs a reboot");
        assertThatThrownBy(() -> completeTask(pi, "approvePatch",
                Map.of(ProcessVariables.APPROVAL_DECISION, "approve", ProcessVariables.MERGE_MODE, "online")))
                .hasMessageContaining("'mergeMode' online is not offered for this run: the patch needs a reboot (choose reboot)");
        assertThatThrownBy(() -> completeTask(pi, "approvePatch",
                Map.of(ProcessVariables.APPROVAL_DECISION, "approve", ProcessVariables.MERGE_MODE, "live")))
                .hasMessageContaining("'mergeMode' must be one of reboot, online, was live");
        assertThat(pi).isWaitingAt("approvePatch");
        // a mode left over from an earlier approval never stands in the way of a rejection
        completeTask(pi, "approvePatch", Map.of(ProcessVariables.APPROVAL_DECISION, "reject", ProcessVariables.MERGE_MODE, "online"));
        runUntilWaiting(pi);
        assertThat(pi).isEnded().hasPassed("rejected");
    }
}
