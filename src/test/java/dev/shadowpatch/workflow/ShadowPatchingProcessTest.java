package dev.shadowpatch.workflow;

import dev.shadowpatch.disk.BootLoaderArea;
import dev.shadowpatch.evidence.InstalledPackage;
import dev.shadowpatch.evidence.PackageChange;
import dev.shadowpatch.evidence.PackageReport;
import dev.shadowpatch.virt.PowerOff;
import org.camunda.bpm.engine.history.HistoricVariableInstance;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.camunda.bpm.engine.runtime.Incident;
import org.camunda.bpm.engine.runtime.Job;
import org.camunda.bpm.engine.runtime.ProcessInstance;
import org.junit.jupiter.api.Test;
import org.mockito.InOrder;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.camunda.bpm.engine.test.assertions.bpmn.BpmnAwareTests.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyMap;
import static org.mockito.ArgumentMatchers.argThat;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.inOrder;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

/** Every path of processes/shadow-patching.bpmn. */
class ShadowPatchingProcessTest extends ProcessTestSupport {

    @Test
    void happyPathPatchesTheLiveVmInTheWindowAndRecordsDowntime() {
        ProcessInstance pi = runToApproval();
        assertThat(pi).isWaitingAt("approvePatch")
                .hasPassedInOrder("snapshotAndClone", "patchShadow", "testShadow", "shutDownShadow", "computeMergePlan");
        assertThat(pi).task().hasCandidateGroup("operators");
        verify(hypervisor, never()).shutdown(eq(LIVE), any());

        approve(pi);
        // The window opened a minute ago: its timer is due at once.
        assertThat(pi).isWaitingAt("waitForWindow");
        fireTimer(pi, "windowStarts");
        runUntilWaiting(pi);

        assertThat(pi).isEnded().hasPassedInOrder("quiesceLive", "mergeChanges", "restartLive", "verifyLive", "cleanupPatched", "patched");
        InOrder order = inOrder(hypervisor, guest, merger);
        order.verify(hypervisor).createShadow(eq(LIVE), eq(pi.getId()));
        order.verify(guest).run(eq(shadowTarget()), eq(PATCH), any());
        order.verify(guest).run(eq(shadowTarget()), eq(TEST), any());
        order.verify(hypervisor).shutdown(eq(SHADOW), any());
        order.verify(merger).plan(eq(clone), any());
        order.verify(hypervisor).shutdown(eq(LIVE), any());
        order.verify(hypervisor).createMergeOverlay(eq(clone), any());
        order.verify(merger).merge(eq(merging), any(), any(), any());
        order.verify(hypervisor).switchToMergeOverlay(merging);
        order.verify(hypervisor).start(LIVE);
        order.verify(guest).run(eq(liveTarget()), eq(TEST), any());
        order.verify(hypervisor).cleanup(merging);
        verify(hypervisor, never()).rollback(any());

        assertThat(historic(pi, ProcessVariables.OUTCOME)).isEqualTo("patched");
        assertThat(historic(pi, ProcessVariables.DOWNTIME_SECONDS)).isInstanceOf(Double.class);
        assertThat(historic(pi, ProcessVariables.MERGE_RULE_COUNTS).toString()).contains("\"take-shadow-replace (rule 3)\":42");
        assertThat(historic(pi, ProcessVariables.APPROVED_AT)).isInstanceOf(Date.class);
        assertThat(historic(pi, ProcessVariables.SHADOW_SHUTDOWN)).isEqualTo("clean");
        assertThat(historic(pi, ProcessVariables.SHADOW_SHUTDOWN_NOTE)).isEqualTo("");
        assertThat(historic(pi, ProcessVariables.LIVE_SHUTDOWN)).isEqualTo("clean");
        assertThat(historic(pi, ProcessVariables.SHADOW_ADDRESS_SOURCE)).isEqualTo("dhcp-lease");
        assertThat(historic(pi, ProcessVariables.LIVE_ADDRESS_SOURCE)).isEqualTo("guest-agent");
        assertThat(historic(pi, ProcessVariables.MERGE_MODE_RAN)).isEqualTo("reboot");
    }

    @Test
    void aConfiguredLiveAddressIsHandedToTheAddressLookAndItsSourceIsRecorded() {
        String configured = "web-01.lan.example";
        when(hypervisor.waitForAddress(eq(LIVE), any(), eq(configured)))
                .thenReturn(new dev.shadowpatch.virt.VmAddress(LIVE_IP, dev.shadowpatch.virt.VmAddress.Source.CONFIGURED));
        ProcessInstance pi = startRun(Map.of(ProcessVariables.CONFIGURED_LIVE_ADDRESS, configured));
        runUntilWaiting(pi);
        approve(pi);
        fireTimer(pi, "windowStarts");
        runUntilWaiting(pi);
        assertThat(pi).isEnded().hasPassed("patched");
        verify(hypervisor).waitForAddress(eq(SHADOW), any(), eq(null)); // the live VM's address is never the shadow's
        assertThat(historic(pi, ProcessVariables.LIVE_ADDRESS_SOURCE)).isEqualTo("configured");
        assertThat(historic(pi, ProcessVariables.LIVE_ADDRESS)).isEqualTo(LIVE_IP);
    }

    @Test
    void aConfiguredLiveAddressThatIsNoAddressRefusesTheStart() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> startRun(Map.of(ProcessVariables.CONFIGURED_LIVE_ADDRESS, "10.0.0.300")))
                .hasMessageContaining("'configuredLiveAddress': '10.0.0.300' is not an IPv4 address");
        assertThat(runtime.createProcessInstanceQuery().count()).isZero();
    }

    private static boolean has(String command, String part) {
        return command != null && command.contains(part);
    }

    @Test
    void theChangeCaptureRunsInTheShadowFromBeforeThePatchUntilBeforeItsShutdown() {
        // the guest can capture and does not yet: the agent is installed and started
        when(guest.run(eq(shadowTarget()), org.mockito.ArgumentMatchers.argThat(c -> c != null && c.startsWith("systemctl -q is-active sp-change-capture")), any()))
                .thenAnswer(call -> failed(call.getArgument(1)));
        ProcessInstance pi = runToApproval();

        assertThat(pi).isWaitingAt("approvePatch");
        InOrder order = inOrder(guest, hypervisor, merger);
        order.verify(guest).run(eq(shadowTarget()), org.mockito.ArgumentMatchers.argThat(c -> has(c, "systemctl restart sp-change-capture")), any());
        order.verify(guest).run(eq(shadowTarget()), eq(PATCH), any());
        order.verify(guest).run(eq(shadowTarget()), eq(TEST), any());
        order.verify(guest).run(eq(shadowTarget()), org.mockito.ArgumentMatchers.argThat(c -> has(c, "systemctl stop sp-change-capture")), any());
        order.verify(hypervisor).shutdown(eq(SHADOW), any());
        order.verify(merger).plan(eq(clone), any());
        verify(guest, org.mockito.Mockito.times(3)).upload(eq(shadowTarget()), any(byte[].class), any());
        assertThat(pi).variables().containsEntry(ProcessVariables.CHANGE_CAPTURE, "stopped")
                .containsEntry(ProcessVariables.CHANGE_CAPTURE_NOTE, "");
    }

    @Test
    void aShadowThatCannotCaptureIsPatchedAllTheSameAndTheReasonIsRecorded() {
        when(guest.run(eq(shadowTarget()), org.mockito.ArgumentMatchers.argThat(c -> has(c, "command -v inotifywait")), any()))
                .thenReturn(new dev.shadowpatch.guest.CommandResult("probe", 1, "DB_PASSWORD=hunter2\n", "", Duration.ofMillis(5)));
        ProcessInstance pi = runToApproval();

        assertThat(pi).isWaitingAt("approvePatch").hasPassed("patchShadow", "testShadow", "shutDownShadow", "computeMergePlan");
        assertThat(pi).variables().containsEntry(ProcessVariables.CHANGE_CAPTURE, "skipped");
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.CHANGE_CAPTURE_NOTE))
                .isEqualTo("the guest lacks inotifywait (package inotify-tools): the merge's scan alone finds the shadow's changes")
                .doesNotContain("hunter2");
        verify(guest, never()).upload(any(), any(byte[].class), any());
        verify(guest, never()).run(any(), org.mockito.ArgumentMatchers.argThat(c -> has(c, "sp-change-capture")), any());
        verify(merger).plan(eq(clone), any());
    }

    @Test
    void aCaptureThatCannotBeStoppedDoesNotHoldUpTheShutdown() {
        when(guest.run(eq(shadowTarget()), org.mockito.ArgumentMatchers.argThat(c -> has(c, "systemctl stop sp-change-capture")), any()))
                .thenThrow(new dev.shadowpatch.guest.GuestException("command on root@" + SHADOW_IP + " timed out after 30 s"));
        ProcessInstance pi = runToApproval();

        assertThat(pi).isWaitingAt("approvePatch");
        verify(hypervisor).shutdown(eq(SHADOW), any());
        assertThat(pi).variables().containsEntry(ProcessVariables.CHANGE_CAPTURE, "not stopped");
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.CHANGE_CAPTURE_NOTE)).contains("could not be stopped");
    }

    @Test
    void aShadowForcedOffIsShownToTheApproverWithWhatItMeans() {
        when(hypervisor.shutdown(eq(SHADOW), any())).thenReturn(PowerOff.FORCED);
        ProcessInstance pi = runToApproval();

        assertThat(pi).isWaitingAt("approvePatch");
        assertThat(pi).variables().containsEntry(ProcessVariables.SHADOW_SHUTDOWN, "forced");
        String note = (String) runtime.getVariable(pi.getId(), ProcessVariables.SHADOW_SHUTDOWN_NOTE);
        assertThat(note).contains("forced off").contains("journal-consistent")
                .contains("writes the shadow had not yet flushed to its disk are lost")
                .contains("Send the run back to fix the shadow").contains("approve knowing this");
        String summary = (String) runtime.getVariable(pi.getId(), ProcessVariables.MERGE_PLAN_SUMMARY);
        assertThat(summary).as("the plan summary the approval form shows").startsWith("WARNING (shadow shutdown: forced): " + note)
                .contains("No conflicts.");

        // sent back, fixed and shut down cleanly this time: the warning is gone from the new evidence
        when(hypervisor.shutdown(eq(SHADOW), any())).thenReturn(PowerOff.CLEAN);
        completeTask(pi, "approvePatch", Map.of(ProcessVariables.APPROVAL_DECISION, "sendBack"));
        runUntilWaiting(pi);
        completeTask(pi, "fixShadow", Map.of(ProcessVariables.FIX_DECISION, "retest"));
        runUntilWaiting(pi);
        assertThat(pi).isWaitingAt("approvePatch");
        assertThat(pi).variables().containsEntry(ProcessVariables.SHADOW_SHUTDOWN, "clean")
                .containsEntry(ProcessVariables.SHADOW_SHUTDOWN_NOTE, "");
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.MERGE_PLAN_SUMMARY)).doesNotContain("WARNING");
    }

    @Test
    void theApprovalFormShowsTheShadowsShutdownNote() throws Exception {
        String form = new String(getClass().getResourceAsStream("/processes/approve-patch.html").readAllBytes(),
                java.nio.charset.StandardCharsets.UTF_8);
        for (String shown : List.of(ProcessVariables.SHADOW_SHUTDOWN_NOTE, ProcessVariables.GUEST_LAYOUT_SUMMARY, ProcessVariables.SHADOW_CUT_OFF,
                ProcessVariables.UNMERGED_WRITES, ProcessVariables.PACKAGE_CHANGES_SUMMARY)) {
            assertThat(form).contains("'" + shown + "'").contains("{{" + shown + "}}");
        }
        assertThat(form).as("the package table").contains("'" + ProcessVariables.PACKAGE_CHANGES_ROWS + "'")
                .contains("ng-repeat=\"row in packages.rows\"").contains("{{row.versions}}").contains("{{row.ids}}");
    }

    @Test
    void whatTheShadowWroteOutsideEveryMergedFileSystemHeadsThePlanSummary() {
        when(merger.outsideFileSystems(any(), any())).thenReturn(new ShadowMerger.OutsideFileSystems(
                List.of("64 KiB written in LVM metadata"), List.of()));
        ProcessInstance pi = runToApproval();
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.UNMERGED_WRITES)).contains("64 KiB written in LVM metadata");
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.MERGE_PLAN_SUMMARY))
                .startsWith("WARNING: the shadow wrote outside every file system");
    }

    @Test
    void whatTheShadowIsCutOffFromIsARunVariableTheApproverSees() {
        when(hypervisor.sharedDevices(LIVE)).thenReturn(List.of("disk vdb (/srv/shared.img): shareable"));
        ProcessInstance pi = runToApproval();
        assertThat(pi).variables().containsEntry(ProcessVariables.SHADOW_CUT_OFF,
                "The shadow gets none of what the live VM shares (1): disk vdb (/srv/shared.img): shareable");
    }

    static final String PACKAGES_BEFORE = "acl\t2.3.1-3\tamd64\tii \nlibssl3\t3.0.11-1~deb12u2\tamd64\tii \n"
            + "openssl\t3.0.11-1~deb12u2\tamd64\tii \n";
    static final String PACKAGES_AFTER = "acl\t2.3.1-3\tamd64\tii \nlibssl3\t3.0.13-1~deb12u1\tamd64\tii \n"
            + "openssl\t3.0.13-1~deb12u1\tamd64\tii \nlinux-image-6.1.0-28-amd64\t6.1.119-1\tamd64\tii \n";
    /** What the guest prints for the changelogs: openssl's real 3.0.13-1~deb12u1 entry from the bundle's archive, none of libssl3. */
    static final String CHANGELOGS = "\u001e libssl3\n\u001e!none\n\u001e openssl\n\u001e@bundle\n"
            + "openssl (3.0.13-1~deb12u1) bookworm; urgency=medium\n\n  * Import 3.0.13\n"
            + "   - CVE-2023-5678 (Fix excessive time spent in DH check / generation with\n"
            + "     large Q parameter value) (Closes: #1055473).\n   - CVE-2024-0727 (PKCS12 Decoding crashes) (Closes: #1061582).\n\n"
            + " -- Sebastian Andrzej Siewior <sebastian@breakpoint.cc>  Sun, 03 Mar 2024 10:47:43 +0100\n\n"
            + "openssl (3.0.11-1~deb12u2) bookworm-security; urgency=medium\n\n";

    private static dev.shadowpatch.guest.CommandResult printed(String stdout) {
        return new dev.shadowpatch.guest.CommandResult("dpkg", 0, stdout, "", Duration.ofMillis(5));
    }

    @Test
    void thePackagesThePatchChangedAreReadInTheShadowBeforeAndAfterWithTheirSecurityIds() {
        when(guest.run(eq(shadowTarget()), eq(InstalledPackage.DPKG_QUERY), any()))
                .thenReturn(printed(PACKAGES_BEFORE), printed(PACKAGES_AFTER));
        when(guest.run(eq(shadowTarget()), org.mockito.ArgumentMatchers.argThat(c -> has(c, "sp_cl()")), any()))
                .thenReturn(printed(CHANGELOGS));
        ProcessInstance pi = runToApproval();

        assertThat(pi).isWaitingAt("approvePatch")
                .hasPassedInOrder("readPackagesBefore", "readRunningCode", "patchShadow", "testShadow", "readPackagesAfter",
                        "findRestartNeed", "shutDownShadow");
        InOrder order = inOrder(guest, hypervisor);
        order.verify(guest).run(eq(shadowTarget()), eq(InstalledPackage.DPKG_QUERY), any());
        order.verify(guest).run(eq(shadowTarget()), eq(PATCH), any());
        order.verify(guest).run(eq(shadowTarget()), eq(TEST), any());
        order.verify(guest).run(eq(shadowTarget()), eq(InstalledPackage.DPKG_QUERY), any());
        order.verify(guest).run(eq(shadowTarget()), org.mockito.ArgumentMatchers.argThat(c -> has(c, "sp_cl()")), any());
        order.verify(hypervisor).shutdown(eq(SHADOW), any());

        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.PACKAGE_CHANGES_SUMMARY)).isEqualTo(
                "3 package(s) changed (1 new, 2 upgraded); 2 CVE fixed; no changelog readable for 1 of 2 upgrade(s),"
                        + " so their CVE, DSA and DLA ids are unknown: libssl3.\n"
                        + "  libssl3 3.0.11-1~deb12u2 -> 3.0.13-1~deb12u1 (upgraded, no changelog readable)\n"
                        + "  linux-image-6.1.0-28-amd64 (none) -> 6.1.119-1 (new)\n"
                        + "  openssl 3.0.11-1~deb12u2 -> 3.0.13-1~deb12u1 (upgraded): CVE-2023-5678, CVE-2024-0727\n");
        PackageReport report = PackageReport.fromJson(fileBytes(pi, ProcessVariables.PACKAGE_CHANGES));
        assertThat(report.state()).isEqualTo(PackageReport.State.KNOWN);
        assertThat(report.packages()).extracting(PackageChange::name, PackageChange::changelog).containsExactly(
                org.assertj.core.api.Assertions.tuple("libssl3", "no changelog readable: none installed in /usr/share/doc/libssl3,"
                        + " no archive of libssl3 3.0.13-1~deb12u1 (amd64) in /var/cache/sp-patch-bundle or /var/cache/apt/archives"),
                org.assertj.core.api.Assertions.tuple("linux-image-6.1.0-28-amd64", null),
                org.assertj.core.api.Assertions.tuple("openssl", "1 changelog entry after 3.0.11-1~deb12u2;"
                        + " read from the patch bundle's package archive"));
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.PACKAGE_CHANGES_ROWS))
                .contains("\"package\":\"openssl\"").contains("\"ids\":\"CVE-2023-5678, CVE-2024-0727\"");

        // sent back and fixed: read again, so the approval shows what the merge will carry
        completeTask(pi, "approvePatch", Map.of(ProcessVariables.APPROVAL_DECISION, "sendBack"));
        runUntilWaiting(pi);
        completeTask(pi, "fixShadow", Map.of(ProcessVariables.FIX_DECISION, "retest"));
        runUntilWaiting(pi);
        assertThat(pi).isWaitingAt("approvePatch");
        verify(guest, org.mockito.Mockito.times(3)).run(eq(shadowTarget()), eq(InstalledPackage.DPKG_QUERY), any());
    }

    /** What the shadow runs before the patch: PID 1 on libc, nginx on its binary and libc. */
    static final String RUNNING = "U\tinit.scope\t/usr/lib/systemd/systemd\nU\tinit.scope\t/usr/lib/x86_64-linux-gnu/libc.so.6\n"
            + "U\tnginx.service\t/usr/sbin/nginx\nU\tnginx.service\t/usr/lib/x86_64-linux-gnu/libc.so.6\n"
            + "F\t/usr/lib/systemd/systemd\t1\t10\t5\t100\nF\t/usr/lib/x86_64-linux-gnu/libc.so.6\t1\t11\t5\t200\nF\t/usr/sbin/nginx\t1\t12\t5\t300\n";

    @Test
    void theRestartAPatchNeedsIsFoundInTheShadowTimedThereAndShownToTheApprover() {
        when(guest.run(eq(shadowTarget()), eq(InstalledPackage.DPKG_QUERY), any()))
                .thenReturn(printed(PACKAGES_BEFORE), printed(PACKAGES_BEFORE));
        when(guest.run(eq(shadowTarget()), eq(dev.shadowpatch.restart.RunningCode.CAPTURE), any())).thenReturn(printed(RUNNING));
        // after the patch: nginx's binary is a new file, libc the same
        when(guest.run(eq(shadowTarget()), org.mockito.ArgumentMatchers.argThat(c -> has(c, "/run/sp-running-code-paths")), any()))
                .thenReturn(printed("F\t/usr/lib/systemd/systemd\t1\t10\t5\t100\nF\t/usr/lib/x86_64-linux-gnu/libc.so.6\t1\t11\t5\t200\n"
                        + "F\t/usr/sbin/nginx\t1\t99\t6\t310\n"));
        when(guest.run(eq(shadowTarget()), org.mockito.ArgumentMatchers.argThat(c -> has(c, "systemctl restart 'nginx.service'")), any()))
                .thenReturn(printed("1234\n"));
        ProcessInstance pi = runToApproval();

        assertThat(pi).isWaitingAt("approvePatch").hasPassedInOrder("readRunningCode", "patchShadow", "findRestartNeed", "shutDownShadow");
        InOrder order = inOrder(guest);
        order.verify(guest).run(eq(shadowTarget()), eq(dev.shadowpatch.restart.RunningCode.CAPTURE), any());
        order.verify(guest).run(eq(shadowTarget()), eq(PATCH), any());
        order.verify(guest).run(eq(shadowTarget()), org.mockito.ArgumentMatchers.argThat(c -> has(c, "/run/sp-running-code-paths")), any());
        assertThat(pi).variables().containsEntry(ProcessVariables.RESTART_CLASS, "services")
                .containsEntry(ProcessVariables.RESTART_SECONDS, 1.234)
                .containsEntry(ProcessVariables.RESTART_SUMMARY, "services: restart nginx.service (nginx.service maps /usr/sbin/nginx);"
                        + " 1.2 s in the shadow (systemctl restart of 1 unit(s))");
        assertThat(new String(fileBytes(pi, ProcessVariables.RESTART_NEED), java.nio.charset.StandardCharsets.UTF_8))
                .contains("\"units\":[\"nginx.service\"]");
    }

    @Test
    void aShadowWhoseRunningCodeCannotBeReadIsPatchedAllTheSameWithTheRestartUnknown() {
        when(guest.run(eq(shadowTarget()), eq(dev.shadowpatch.restart.RunningCode.CAPTURE), any()))
                .thenThrow(new dev.shadowpatch.guest.GuestException("command on root@" + SHADOW_IP + ":22 timed out after 120 s"));
        ProcessInstance pi = runToApproval();

        assertThat(pi).isWaitingAt("approvePatch").hasPassed("readRunningCode", "patchShadow", "findRestartNeed");
        assertThat(pi).variables().containsEntry(ProcessVariables.RESTART_CLASS, "unknown");
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.RESTART_SUMMARY))
                .isEqualTo("unknown: the running code before the patch could not be read: the shadow did not answer: command on root@"
                        + SHADOW_IP + ":22 timed out after 120 s");
    }

    @Test
    void aShadowWhosePackagesCannotBeReadBeforeThePatchIsPatchedAllTheSameAndTheApprovalSaysWhy() {
        when(guest.run(eq(shadowTarget()), eq(InstalledPackage.DPKG_QUERY), any()))
                .thenThrow(new dev.shadowpatch.guest.GuestException("command on root@" + SHADOW_IP + ":22 timed out after 30 s"));
        ProcessInstance pi = runToApproval();

        assertThat(pi).isWaitingAt("approvePatch").hasPassed("readPackagesBefore", "patchShadow", "readPackagesAfter");
        verify(guest, org.mockito.Mockito.times(1)).run(eq(shadowTarget()), eq(InstalledPackage.DPKG_QUERY), any());
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.PACKAGE_CHANGES_SUMMARY)).isEqualTo(
                "Packages unknown: the packages before the patch could not be read: the shadow did not answer: command on root@"
                        + SHADOW_IP + ":22 timed out after 30 s\n");
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.PACKAGE_CHANGES_ROWS)).contains("\"state\":\"unknown\"");
        assertThat(PackageReport.fromJson(fileBytes(pi, ProcessVariables.PACKAGE_CHANGES)).state())
                .isEqualTo(PackageReport.State.UNKNOWN);
    }

    @Test
    void packagesThatCannotBeReadAfterThePatchAreUnknownWithTheReasonNeverTheGuestsOutput() {
        when(guest.run(eq(shadowTarget()), eq(InstalledPackage.DPKG_QUERY), any()))
                .thenReturn(printed(PACKAGES_BEFORE), new dev.shadowpatch.guest.CommandResult("dpkg", 2, "DB_PASSWORD=hunter2\n", "", Duration.ZERO));
        ProcessInstance pi = runToApproval();

        assertThat(pi).isWaitingAt("approvePatch");
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.PACKAGE_CHANGES_SUMMARY))
                .isEqualTo("Packages unknown: the packages after the patch could not be read: dpkg-query failed in the shadow (exit 2)\n")
                .doesNotContain("hunter2");
    }

    @Test
    void aLiveVmForcedOffInTheWindowIsRecordedAndTheWindowGoesOn() {
        when(hypervisor.shutdown(eq(LIVE), any())).thenReturn(PowerOff.FORCED);
        ProcessInstance pi = runToApproval();
        approve(pi);
        fireTimer(pi, "windowStarts");
        runUntilWaiting(pi);

        assertThat(pi).isEnded().hasPassedInOrder("quiesceLive", "mergeChanges", "restartLive", "verifyLive", "patched");
        assertThat(historic(pi, ProcessVariables.LIVE_SHUTDOWN)).isEqualTo("forced");
        assertThat(historic(pi, ProcessVariables.OUTCOME)).isEqualTo("patched");
        verify(hypervisor, never()).rollback(any());
    }

    private dev.shadowpatch.testing.ImmediateGuestJobs jobs() {
        return (dev.shadowpatch.testing.ImmediateGuestJobs) guestJobs;
    }

    @Test
    void aLongPatchIsPolledByATimerAndRunsOnce() {
        jobs().holdRunning(PATCH);
        ProcessInstance pi = startRun();
        runUntilWaiting(pi);
        assertThat(pi).isWaitingAt("patchRunning");
        assertThat(management.createJobQuery().processInstanceId(pi.getId()).messages().count())
                .as("no job is held while the patch runs").isZero();

        fireTimer(pi, "patchRunning");
        runUntilWaiting(pi);
        assertThat(pi).isWaitingAt("patchRunning");
        jobs().release(PATCH);
        fireTimer(pi, "patchRunning");
        runUntilWaiting(pi);

        assertThat(pi).isWaitingAt("approvePatch");
        verify(guest, org.mockito.Mockito.times(1)).run(eq(shadowTarget()), eq(PATCH), any());
        assertThat(pi).variables().containsEntry(ProcessVariables.PATCH_SUCCEEDED, true)
                .doesNotContainKey(ProcessVariables.PATCH_OUTPUT + "Job");
    }

    /**
     * The patch restarts sshd (openssh-server's upgrade): looks that cannot reach the shadow are waited
     * out, not failed (each failure was a retry used: the Debian 12 to 13 upgrade lost one this way);
     * a shadow unreachable for a whole boot timeout fails the step as before.
     */
    @Test
    void aShadowUnreachableForAWhileWhileItsPatchRunsCostsNoRetry() {
        jobs().holdRunning(PATCH);
        ProcessInstance pi = startRun();
        runUntilWaiting(pi);
        assertThat(pi).isWaitingAt("patchRunning");
        jobs().unreachable(PATCH);
        for (int i = 0; i < 4; i++) {
            ClockUtil.setCurrentTime(Date.from(ClockUtil.getCurrentTime().toInstant().plus(Duration.ofSeconds(20))));
            fireTimer(pi, "patchRunning");
            runUntilWaiting(pi);
            assertThat(pi).isWaitingAt("patchRunning");
        }
        assertThat(runtime.getVariable(pi.getId(), ProcessVariables.PATCH_OUTPUT + "UnreachableSince")).isNotNull();
        jobs().reachable(PATCH);
        jobs().release(PATCH);
        fireTimer(pi, "patchRunning");
        runUntilWaiting(pi);

        assertThat(pi).isWaitingAt("approvePatch");
        assertThat(engine.getHistoryService().createHistoricJobLogQuery().processInstanceId(pi.getId()).failureLog().count())
                .as("failed attempts").isZero();
        assertThat(pi).variables().doesNotContainKey(ProcessVariables.PATCH_OUTPUT + "UnreachableSince");
    }

    @Test
    void aShadowUnreachableForABootTimeoutFailsItsPatchStep() {
        jobs().holdRunning(PATCH);
        ProcessInstance pi = startRun();
        runUntilWaiting(pi);
        jobs().unreachable(PATCH);
        fireTimer(pi, "patchRunning");
        runUntilWaiting(pi);
        assertThat(pi).isWaitingAt("patchRunning");
        ClockUtil.setCurrentTime(Date.from(ClockUtil.getCurrentTime().toInstant().plus(Duration.ofMinutes(11))));
        fireTimer(pi, "patchRunning");
        runUntilWaiting(pi);

        assertThat(engine.getHistoryService().createHistoricJobLogQuery().processInstanceId(pi.getId()).failureLog().count())
                .as("failed attempts").isPositive();
        assertThat(engine.getHistoryService().createHistoricJobLogQuery().processInstanceId(pi.getId()).failureLog().list().get(0)
                .getJobExceptionMessage()).contains("Connection reset");
    }

    @Test
    void aPatchPastItsTimeoutIsStoppedAndGoesToFixTheShadowWithItsOutputSoFar() {
        jobs().holdRunning(PATCH);
        ProcessInstance pi = startRun();
        runUntilWaiting(pi);
        assertThat(pi).isWaitingAt("patchRunning");

        ClockUtil.setCurrentTime(Date.from(ClockUtil.getCurrentTime().toInstant().plus(Duration.ofMinutes(31))));
        fireTimer(pi, "patchRunning");
        runUntilWaiting(pi);

        assertThat(pi).isWaitingAt("fixShadow").hasNotPassed("testShadow");
        assertThat(jobs().stopped()).containsExactly(PATCH);
        assertThat(pi).variables().containsEntry(ProcessVariables.PATCH_EXIT_CODE, 124)
                .containsEntry(ProcessVariables.PATCH_SUCCEEDED, false);
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.PATCH_OUTPUT + "Tail"))
                .contains("ok").contains("timed out after");
        verify(guest, org.mockito.Mockito.times(1)).run(eq(shadowTarget()), eq(PATCH), any());
    }

    @Test
    void aShadowWithoutAnAddressYetIsLookedForAgainByATimer() {
        when(hypervisor.waitForAddress(eq(SHADOW), any(), any()))
                .thenThrow(new dev.shadowpatch.virt.HypervisorException("no lease yet"))
                .thenReturn(new dev.shadowpatch.virt.VmAddress(SHADOW_IP, dev.shadowpatch.virt.VmAddress.Source.DHCP_LEASE));
        ProcessInstance pi = startRun();
        runUntilWaiting(pi);
        assertThat(pi).isWaitingAt("shadowBooting");
        fireTimer(pi, "shadowBooting");
        runUntilWaiting(pi);
        assertThat(pi).isWaitingAt("approvePatch");
        verify(hypervisor, org.mockito.Mockito.times(1)).createShadow(eq(LIVE), any());
    }

    @Test
    void aLiveVmThatDoesNotAnswerWithinTheBootTimeoutIsRolledBack() {
        ProcessInstance pi = runToApproval();
        approve(pi);
        when(hypervisor.waitForAddress(eq(LIVE), any(), any())).thenThrow(new dev.shadowpatch.virt.HypervisorException("no lease"));
        fireTimer(pi, "windowStarts");
        runUntilWaiting(pi);
        assertThat(pi).isWaitingAt("liveBooting");

        ClockUtil.setCurrentTime(Date.from(ClockUtil.getCurrentTime().toInstant().plus(Duration.ofMinutes(11))));
        fireTimer(pi, "liveBooting");
        runUntilWaiting(pi);
        assertThat(pi).isWaitingAt("reviewRollback");
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.ROLLBACK_REASON)).contains("did not answer within 600 s");
        verify(hypervisor).rollback(merging);
    }

    @Test
    void failingTestsWaitForAnOperatorToFixTheShadowThenTestAgain() {
        when(guest.run(eq(shadowTarget()), eq(TEST), any())).thenReturn(failed(TEST), ok(TEST));
        ProcessInstance pi = runToApproval();
        assertThat(pi).isWaitingAt("fixShadow");
        assertThat(pi).task().hasCandidateGroup("operators");
        assertThat(pi).variables().containsEntry(ProcessVariables.TESTS_PASSED, false)
                .containsEntry(ProcessVariables.TEST_EXIT_CODE, 1);

        completeTask(pi, "fixShadow", Map.of(ProcessVariables.FIX_DECISION, "retest"));
        runUntilWaiting(pi);

        assertThat(pi).isWaitingAt("approvePatch");
        assertThat(pi).variables().containsEntry(ProcessVariables.TEST_ATTEMPTS, 2);
        verify(hypervisor, never()).shutdown(eq(LIVE), any());
    }

    @Test
    void failingPatchGoesToFixTheShadowWithoutRunningTests() {
        when(guest.run(eq(shadowTarget()), eq(PATCH), any())).thenReturn(failed(PATCH));
        ProcessInstance pi = runToApproval();
        assertThat(pi).isWaitingAt("fixShadow").hasNotPassed("testShadow");
        assertThat(pi).variables().containsEntry(ProcessVariables.PATCH_SUCCEEDED, false);

        completeTask(pi, "fixShadow", Map.of(ProcessVariables.FIX_DECISION, "abandon"));
        runUntilWaiting(pi);
        assertThat(pi).isEnded().hasPassed("cleanupAbandoned", "abandoned");
        verify(hypervisor).cleanup(clone);
        assertThat(historic(pi, ProcessVariables.OUTCOME)).isEqualTo("abandoned");
    }

    @Test
    void rejectionCleansUpTheShadowAndNeverTouchesTheLiveVm() {
        ProcessInstance pi = runToApproval();
        completeTask(pi, "approvePatch", Map.of(ProcessVariables.APPROVAL_DECISION, "reject",
                ProcessVariables.APPROVAL_COMMENT, "not this week"));
        runUntilWaiting(pi);

        assertThat(pi).isEnded().hasPassed("cleanupRejected", "rejected").hasNotPassed("maintenanceWindow");
        verify(hypervisor).cleanup(clone);
        verify(hypervisor, never()).shutdown(eq(LIVE), any());
        verify(merger, never()).merge(any(), any(), any(), any());
        assertThat(historic(pi, ProcessVariables.APPROVED_BY)).isNull();
        assertThat(historic(pi, ProcessVariables.OUTCOME)).isEqualTo("rejected");
    }

    @Test
    void sendBackStartsTheShadowAgainForAFix() {
        ProcessInstance pi = runToApproval();
        completeTask(pi, "approvePatch", Map.of(ProcessVariables.APPROVAL_DECISION, "sendBack"));
        runUntilWaiting(pi);

        assertThat(pi).isWaitingAt("fixShadow").hasPassed("startShadow");
        verify(hypervisor).start(SHADOW);
    }

    @Test
    void anUnknownApprovalDecisionIsRefusedAndTheTaskStaysOpen() {
        ProcessInstance pi = runToApproval();
        org.assertj.core.api.Assertions.assertThatThrownBy(() ->
                        completeTask(pi, "approvePatch", Map.of(ProcessVariables.APPROVAL_DECISION, "yolo")))
                .hasMessageContaining("approvalDecision");
        assertThat(pi).isWaitingAt("approvePatch");
    }

    @Test
    void conflictsMustBeDecidedBeforeTheApprovalCounts() {
        when(merger.plan(any(), any())).thenReturn(plan(List.of("etc/app.conf")));
        when(merger.resolve(any(), eq(Map.of()), eq(null)))
                .thenThrow(new ShadowMerger.ConflictsUnresolvedException(List.of("etc/app.conf")));
        when(merger.resolve(any(), eq(Map.of("etc/app.conf", "keep-live")), eq(null))).thenReturn(plan(List.of()));
        ProcessInstance pi = runToApproval();
        assertThat(pi).variables().containsEntry(ProcessVariables.CONFLICT_COUNT, 1);
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.MERGE_PLAN_SUMMARY)).contains("etc/app.conf");

        approve(pi);
        assertThat(pi).isWaitingAt("approvePatch");
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.APPROVAL_PROBLEM)).contains("etc/app.conf");

        completeTask(pi, "approvePatch", Map.of(ProcessVariables.APPROVAL_DECISION, "approve",
                ProcessVariables.CONFLICT_RESOLUTIONS, "etc/app.conf = keep-live\n"));
        assertThat(pi).isWaitingAt("waitForWindow");
        assertThat(pi).variables().containsEntry(ProcessVariables.CONFLICT_COUNT, 0);
    }

    @Test
    void aFallbackDecisionSettlesEveryConflictNotListed() {
        when(merger.plan(any(), any())).thenReturn(plan(List.of("etc/app.conf", "usr/share/app/data")));
        when(merger.resolve(any(), eq(Map.of()), eq("take-shadow"))).thenReturn(plan(List.of()));
        ProcessInstance pi = runToApproval();
        completeTask(pi, "approvePatch", Map.of(ProcessVariables.APPROVAL_DECISION, "approve",
                ProcessVariables.CONFLICT_FALLBACK, "take-shadow"));
        assertThat(pi).isWaitingAt("waitForWindow");
        verify(merger).resolve(any(), eq(Map.of()), eq("take-shadow"));
    }

    @Test
    void aMalformedConflictDecisionIsExplainedOnTheApprovalTask() {
        when(merger.plan(any(), any())).thenReturn(plan(List.of("etc/app.conf")));
        ProcessInstance pi = runToApproval();
        completeTask(pi, "approvePatch", Map.of(ProcessVariables.APPROVAL_DECISION, "approve",
                ProcessVariables.CONFLICT_RESOLUTIONS, "etc/app.conf = whatever"));
        assertThat(pi).isWaitingAt("approvePatch");
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.APPROVAL_PROBLEM))
                .contains("line 1").contains("keep-live|take-shadow|hybrid");
        verify(merger, never()).resolve(any(), anyMap(), any());
    }

    @Test
    void aMissedWindowReschedulesToTheNextCalendarWindowAndNeverRunsLate() {
        Instant now = ClockUtil.getCurrentTime().toInstant();
        ProcessInstance pi = startRun(now.plus(Duration.ofMinutes(10)), now.plus(Duration.ofMinutes(40)));
        runUntilWaiting(pi);
        approve(pi);
        assertThat(pi).isWaitingAt("waitForWindow");

        // The engine was down: the timer fires after the window closed.
        ClockUtil.setCurrentTime(Date.from(now.plus(Duration.ofMinutes(45))));
        fireTimer(pi, "windowStarts");

        assertThat(pi).isWaitingAt("waitForWindow").hasPassed("windowDoor").hasNotPassed("maintenanceWindow");
        assertThat(pi).variables().containsEntry(ProcessVariables.WINDOW_RESCHEDULES, 1)
                .containsEntry(ProcessVariables.WINDOW_DOOR, WindowDoor.Decision.NOT_OPEN.name());
        Job timer = management.createJobQuery().processInstanceId(pi.getId()).timers().activityId("windowStarts").singleResult();
        ZonedDateTime next = timer.getDuedate().toInstant().atZone(ZoneOffset.UTC);
        assertThat(next.getDayOfWeek()).isEqualTo(java.time.DayOfWeek.SATURDAY);
        assertThat(next.getHour()).isEqualTo(2);
        assertThat(next.toInstant()).isAfter(now.plus(Duration.ofMinutes(40)));
        verify(hypervisor, never()).shutdown(eq(LIVE), any());
    }

    /** Saturday 02:10 UTC, ten minutes into a window of the default calendar (Saturdays 02:00 for two hours). */
    private static Instant insideACalendarWindow() {
        ZonedDateTime sat = ZonedDateTime.now(ZoneOffset.UTC).with(java.time.temporal.TemporalAdjusters.next(java.time.DayOfWeek.SATURDAY))
                .withHour(2).withMinute(10).withSecond(0).withNano(0);
        return sat.toInstant();
    }

    private ProcessInstance startCalendarRun() {
        return runtime.startProcessInstanceByKey(ProcessKeys.SHADOW_PATCHING, Map.of(ProcessVariables.LIVE_VM, LIVE,
                ProcessVariables.PATCH_COMMAND, PATCH, ProcessVariables.TEST_COMMAND, TEST));
    }

    /** Executes the maintenance-window process's timer and its release step, as the job executor would. */
    private void fireCalendarTimer() {
        Job windowTimer = management.createJobQuery().processDefinitionKey(ProcessKeys.MAINTENANCE_WINDOW).timers().singleResult();
        assertThat(windowTimer).as("the calendar's timer start event is scheduled").isNotNull();
        management.executeJob(windowTimer.getId());
        Job open = management.createJobQuery().processDefinitionKey(ProcessKeys.MAINTENANCE_WINDOW).messages().singleResult();
        management.executeJob(open.getId());
    }

    @Test
    void theCalendarsTimerReleasesTheRunsWaitingForTheWindowThatIsOpen() {
        ClockUtil.setCurrentTime(Date.from(insideACalendarWindow()));
        ProcessInstance pi = startCalendarRun();
        runUntilWaiting(pi);
        approve(pi);
        assertThat(pi).isWaitingAt("waitForWindow");

        fireCalendarTimer();
        assertThat(pi).isWaitingAt("quiesceLive").hasPassed("windowOpened", "windowDoor");
        runUntilWaiting(pi);
        assertThat(pi).isEnded().hasPassed("patched");
    }

    @Test
    void theCalendarsTimerDoesNotReleaseARunThatAskedForAnotherWindow() {
        Instant now = insideACalendarWindow();
        ClockUtil.setCurrentTime(Date.from(now));
        // asked for a window three days away: the calendar's window open today is not its window
        ProcessInstance pi = startRun(now.plus(Duration.ofDays(3)), now.plus(Duration.ofDays(3)).plus(Duration.ofHours(2)));
        runUntilWaiting(pi);
        approve(pi);

        fireCalendarTimer();
        assertThat(pi).isWaitingAt("waitForWindow").hasNotPassed("windowDoor");
        verify(hypervisor, never()).shutdown(eq(LIVE), any());
    }

    @Test
    void aCalendarTimerFiringAfterItsWindowClosedReleasesNothing() {
        Instant now = insideACalendarWindow();
        ClockUtil.setCurrentTime(Date.from(now));
        ProcessInstance pi = startCalendarRun();
        runUntilWaiting(pi);
        approve(pi);

        // The engine was down: the timer fires at 05:00, after the 02:00-04:00 window. It must not make a window.
        ClockUtil.setCurrentTime(Date.from(now.plus(Duration.ofMinutes(170))));
        fireCalendarTimer();
        assertThat(pi).isWaitingAt("waitForWindow").hasNotPassed("windowDoor");
        verify(hypervisor, never()).shutdown(eq(LIVE), any());
    }

    @Test
    void theRunsWindowTimerExecutedBeforeItIsDueIsRefusedAtTheDoor() {
        Instant now = ClockUtil.getCurrentTime().toInstant();
        ProcessInstance pi = startRun(now.plus(Duration.ofHours(5)), now.plus(Duration.ofHours(7)));
        runUntilWaiting(pi);
        approve(pi);

        fireTimer(pi, "windowStarts"); // by hand, five hours early
        assertThat(pi).isWaitingAt("waitForWindow").hasPassed("windowDoor").hasNotPassed("maintenanceWindow");
        assertThat(pi).variables().containsEntry(ProcessVariables.WINDOW_DOOR, WindowDoor.Decision.NOT_OPEN.name());
        Job timer = management.createJobQuery().processInstanceId(pi.getId()).timers().activityId("windowStarts").singleResult();
        assertThat(timer.getDuedate().toInstant().truncatedTo(java.time.temporal.ChronoUnit.SECONDS))
                .as("the run waits again for its own window").isEqualTo(now.plus(Duration.ofHours(5)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
        verify(hypervisor, never()).shutdown(eq(LIVE), any());
    }

    @Test
    void aPlanChangedAfterTheApprovalIsRefusedAtTheDoorAndAsksForANewApproval() {
        ProcessInstance pi = runToApproval();
        approve(pi);
        // someone rewrites the approved plan (an admin here; an operator could through a task's completion)
        runtime.setVariable(pi.getId(), ProcessVariables.MERGE_PLAN,
                RunState.jsonFile("merge-plan.json", "{\"plan\":[\"rm -rf /\"]}".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        fireTimer(pi, "windowStarts");

        assertThat(pi).isWaitingAt("approvePatch").hasNotPassed("maintenanceWindow");
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.APPROVAL_PROBLEM))
                .contains("not the one " + OPERATOR + " approved");
        verify(hypervisor, never()).shutdown(eq(LIVE), any());
    }

    @Test
    void aForgedApprovedByVariableIsNoApproval() {
        ProcessInstance pi = runToApproval();
        // skip the approval task: set what the approval would set, and move the run on by modification
        runtime.setVariable(pi.getId(), ProcessVariables.APPROVED_BY, OPERATOR);
        runtime.setVariable(pi.getId(), ProcessVariables.APPROVAL_DECISION, "approve");
        runtime.createProcessInstanceModification(pi.getId()).cancelAllForActivity("approvePatch")
                .startBeforeActivity("scheduleWindow").execute();
        fireTimer(pi, "windowStarts");

        assertThat(pi).isWaitingAt("approvePatch");
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.APPROVAL_PROBLEM)).contains("nobody approved");
        verify(hypervisor, never()).shutdown(eq(LIVE), any());
    }

    @Test
    void anInWindowStepStartedByModificationTouchesNothing() {
        ProcessInstance pi = runToApproval();
        approve(pi);
        runtime.createProcessInstanceModification(pi.getId()).startBeforeActivity("mergeChanges").execute();
        runUntilWaiting(pi);

        verify(hypervisor, never()).shutdown(eq(LIVE), any());
        verify(hypervisor, never()).createMergeOverlay(any(), any());
        verify(merger, never()).merge(any(), any(), any(), any());
        assertThat(pi).isWaitingAt("waitForWindow");
    }

    @Test
    void aMergeThatKeepsFailingRollsTheLiveVmBackInsteadOfLeavingItDown() {
        when(merger.merge(any(), any(), any(), any())).thenThrow(new IllegalStateException("disk full on the merge overlay"));
        ProcessInstance pi = runToApproval();
        approve(pi);
        fireTimer(pi, "windowStarts");
        runUntilWaiting(pi);

        assertThat(pi).isWaitingAt("reviewRollback").hasPassed("rollbackLive").hasNotPassed("restartLive");
        verify(hypervisor, never()).switchToMergeOverlay(any());
        verify(hypervisor).rollback(merging);
        verify(hypervisor).start(LIVE);
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.ROLLBACK_REASON))
                .contains("Merging").contains("disk full on the merge overlay");
        assertThat(runtime.createIncidentQuery().processInstanceId(pi.getId()).count()).isZero();
    }

    static final BootLoaderArea.Copy GRUB = new BootLoaderArea.Copy("vda", List.of(new long[] {0, 440}, new long[] {512, 65536}), null);

    /**
     * grub-install in the shadow: the approver is told the window copies it, and the window copies it
     * after the files, into the merge overlay of its disk (the online merge's refusal:
     * OnlineMergeProcessTest).
     */
    @Test
    void theShadowsBootLoaderIsShownToTheApproverAndCopiedInTheWindow() {
        when(merger.outsideFileSystems(any(), any())).thenReturn(new ShadowMerger.OutsideFileSystems(List.of(), List.of(GRUB)));
        when(merger.carryBootLoaders(any(), any())).thenReturn(List.of(GRUB));
        ProcessInstance pi = runToApproval();
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.MERGE_PLAN_SUMMARY))
                .startsWith("Boot loader: vda: 64 KiB of the shadow's boot loader").contains("is written to the live disk after its files");
        assertThat(runtime.getVariable(pi.getId(), ProcessVariables.UNMERGED_WRITES)).isNull();
        assertThat(runtime.getVariable(pi.getId(), ProcessVariables.BOOT_LOADER_DISKS)).isEqualTo("vda");
        approve(pi);
        fireTimer(pi, "windowStarts");
        runUntilWaiting(pi);

        assertThat(pi).hasPassed("restartLive");
        InOrder order = inOrder(merger);
        order.verify(merger).merge(any(), any(), any(), any());
        order.verify(merger).carryBootLoaders(merging, Set.of("vda"));
        verify(hypervisor).createMergeOverlay(eq(clone), argThat(disks -> disks.contains("vda")));
    }

    /** The live VM wrote its own boot loader since the plan: never overwritten, the live VM is rolled back. */
    @Test
    void aBootLoaderThatCanNoLongerBeCarriedRollsTheLiveVmBack() {
        when(merger.outsideFileSystems(any(), any())).thenReturn(new ShadowMerger.OutsideFileSystems(List.of(), List.of(GRUB)));
        when(merger.carryBootLoaders(any(), any())).thenThrow(new IllegalStateException(
                "vda: 64 KiB of the shadow's boot loader cannot be carried over: the live VM wrote its own boot loader area since the snapshot (4 KiB)"));
        ProcessInstance pi = runToApproval();
        approve(pi);
        fireTimer(pi, "windowStarts");
        runUntilWaiting(pi);

        assertThat(pi).isWaitingAt("reviewRollback").hasPassed("rollbackLive").hasNotPassed("restartLive");
        verify(hypervisor).rollback(merging);
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.ROLLBACK_REASON))
                .contains("The shadow's boot loader cannot be carried over").contains("the live VM wrote its own boot loader area");
        verify(merger, times(1)).carryBootLoaders(any(), any());
    }

    /**
     * The merge is given the entry's deadline; one that fails after it (here: cut short by it) rolls
     * back at once: no failed attempt waits for a retry that could only end in a rollback.
     */
    @Test
    void aMergeThatFailsPastTheWindowsDeadlineRollsBackAtOnce() {
        when(merger.merge(any(), any(), any(), any())).thenAnswer(call -> {
            Instant deadline = call.getArgument(3);
            assertThat(deadline).as("the merge's deadline").isNotNull();
            ClockUtil.setCurrentTime(Date.from(deadline.plusSeconds(1)));
            throw new IllegalStateException("The merge left 2 operation(s) undone: not attempted: the merge's deadline passed");
        });
        ProcessInstance pi = runToApproval();
        approve(pi);
        fireTimer(pi, "windowStarts");
        runUntilWaiting(pi);

        assertThat(pi).isWaitingAt("reviewRollback").hasPassed("rollbackLive").hasNotPassed("restartLive");
        verify(merger).merge(any(), any(), any(), any());
        verify(hypervisor).rollback(merging);
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.ROLLBACK_REASON))
                .contains("Merging").contains("its deadline").contains("has passed").contains("not attempted");
        assertThat(engine.getHistoryService().createHistoricJobLogQuery().processInstanceId(pi.getId()).activityIdIn("mergeChanges")
                .failureLog().count()).as("failed merge attempts left for a retry").isZero();
    }

    @Test
    void failedVerificationRollsBackAndTheOperatorCanAbandon() {
        when(guest.run(eq(liveTarget()), eq(TEST), any())).thenReturn(failed(TEST));
        ProcessInstance pi = runToApproval();
        approve(pi);
        fireTimer(pi, "windowStarts");
        runUntilWaiting(pi);

        assertThat(pi).isWaitingAt("reviewRollback").hasPassed("verifyLive", "rollbackLive");
        InOrder order = inOrder(hypervisor);
        order.verify(hypervisor).switchToMergeOverlay(merging);
        order.verify(hypervisor).rollback(merging);
        order.verify(hypervisor).start(LIVE);
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.ROLLBACK_REASON)).contains("Verification");

        completeTask(pi, "reviewRollback", Map.of(ProcessVariables.ROLLBACK_DECISION, "abandon"));
        runUntilWaiting(pi);
        assertThat(pi).isEnded().hasPassed("rolledBack");
        assertThat(historic(pi, ProcessVariables.OUTCOME)).isEqualTo("rolled back");
    }

    @Test
    void afterARollbackTheOperatorCanPlanAgainForALaterWindow() {
        when(guest.run(eq(liveTarget()), eq(TEST), any())).thenReturn(failed(TEST));
        ProcessInstance pi = runToApproval();
        approve(pi);
        fireTimer(pi, "windowStarts");
        runUntilWaiting(pi);
        completeTask(pi, "reviewRollback", Map.of(ProcessVariables.ROLLBACK_DECISION, "retry"));
        runUntilWaiting(pi);
        assertThat(pi).isWaitingAt("approvePatch");
    }

    @Test
    void theWindowClosingRollsBackWhateverStepIsRunning() {
        ProcessInstance pi = runToApproval();
        approve(pi);
        fireTimer(pi, "windowStarts");
        Job quiesce = management.createJobQuery().processInstanceId(pi.getId()).activityId("quiesceLive").singleResult();
        management.executeJob(quiesce.getId());
        assertThat(pi).isWaitingAt("mergeChanges");

        fireTimer(pi, "windowClosing");
        runUntilWaiting(pi);
        assertThat(pi).isWaitingAt("reviewRollback").hasNotPassed("mergeChanges");
        verify(merger, never()).merge(any(), any(), any(), any());
        verify(hypervisor).rollback(clone);
        assertThat((String) runtime.getVariable(pi.getId(), ProcessVariables.ROLLBACK_REASON)).contains("window");
    }

    @Test
    void aServiceTaskThatKeepsFailingEndsInAnIncidentWithTheReason() {
        when(hypervisor.createShadow(eq(LIVE), any()))
                .thenThrow(new IllegalArgumentException("libvirt: no domain named 'web-01' on qemu:///system"));
        ProcessInstance pi = startRun();
        runUntilWaiting(pi);

        assertThat(pi).isWaitingAt("snapshotAndClone");
        Incident incident = runtime.createIncidentQuery().processInstanceId(pi.getId()).singleResult();
        assertThat(incident).isNotNull();
        assertThat(incident.getActivityId()).isEqualTo("snapshotAndClone");
        assertThat(incident.getIncidentMessage()).contains("no domain named 'web-01'");
        // R3/PT30S: three attempts in all
        verify(hypervisor, org.mockito.Mockito.times(3)).createShadow(eq(LIVE), any());
    }

    @Test
    void aBadRequestIsRefusedWithEveryProblemNamedAndCreatesNothing() {
        long before = engine.getHistoryService().createHistoricProcessInstanceQuery().count();
        Map<String, Object> vars = new java.util.HashMap<>();
        vars.put(ProcessVariables.PATCH_COMMAND, PATCH);
        vars.put(ProcessVariables.REQUESTED_WINDOW_START, "next saturday");
        vars.put(ProcessVariables.REQUESTED_WINDOW_END, "2026-11-28T04:00:00Z");
        vars.put(ProcessVariables.WINDOW_NAME, "no-such-window");
        vars.put(ProcessVariables.PATCH_BUNDLE, "../../etc");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> runtime.startProcessInstanceByKey(ProcessKeys.SHADOW_PATCHING, vars))
                .hasMessageContaining("'liveVm' is required")
                .hasMessageContaining("'testCommand' is required")
                .hasMessageContaining("'windowStart' = 'next saturday' is not an ISO-8601 date-time")
                .hasMessageContaining("No maintenance window named 'no-such-window'")
                .hasMessageContaining("outside the bundle root")
                .hasMessageContaining("nothing was created");
        assertThat(engine.getHistoryService().createHistoricProcessInstanceQuery().count()).isEqualTo(before);
        verify(hypervisor, never()).createShadow(any(), any());
    }

    @Test
    void aVmThatIsNotPatchableIsRefusedBeforeItsSnapshot() {
        when(hypervisor.checkPatchable(LIVE)).thenReturn(List.of("VM web-01 is not running: a shadow is taken of a running VM"));
        org.assertj.core.api.Assertions.assertThatThrownBy(this::startRun).hasMessageContaining("web-01 is not running");
        assertThat(runtime.createProcessInstanceQuery().count()).isZero();
        verify(hypervisor, never()).createShadow(any(), any());
    }

    @Test
    void aSecondRunOfTheSameVmIsRefusedWhileTheFirstIsOpen() {
        ProcessInstance first = startRun();
        org.assertj.core.api.Assertions.assertThatThrownBy(this::startRun)
                .hasMessageContaining("already has an open patch run " + first.getId());
        runUntilWaiting(first);
        completeTask(first, "approvePatch", Map.of(ProcessVariables.APPROVAL_DECISION, "reject"));
        runUntilWaiting(first);
        assertThat(first).isEnded();
        assertThat(startRun()).as("the VM is free again once its run ended").isNotNull();
    }

    @Test
    void aRequestedWindowThatAlreadyEndedIsRefused() {
        Instant now = ClockUtil.getCurrentTime().toInstant();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> startRun(now.minus(Duration.ofHours(3)), now.minus(Duration.ofHours(1))))
                .hasMessageContaining("has already ended");
    }

    @Test
    void aPatchBundleIsSentToTheShadowBeforeThePatchCommandRuns() throws Exception {
        java.nio.file.Path bundle = java.nio.file.Files.createDirectories(java.nio.file.Path.of("target/test-bundles/openssl-2026-11")).toAbsolutePath();
        java.nio.file.Files.writeString(bundle.resolve("apply.sh"), "#!/bin/sh\n");
        java.nio.file.Files.writeString(bundle.resolve("openssl_3.0.22_amd64.deb"), "deb");
        ProcessInstance pi = runtime.startProcessInstanceByKey(ProcessKeys.SHADOW_PATCHING, Map.of(
                ProcessVariables.LIVE_VM, LIVE, ProcessVariables.TEST_COMMAND, TEST,
                ProcessVariables.PATCH_BUNDLE, "openssl-2026-11",
                ProcessVariables.PATCH_COMMAND, PatchBundle.GUEST_DIR + "/apply.sh"));
        runUntilWaiting(pi);

        assertThat(pi).isWaitingAt("approvePatch");
        InOrder order = inOrder(guest);
        order.verify(guest).upload(eq(shadowTarget()), eq(bundle.resolve("apply.sh")), eq(PatchBundle.GUEST_DIR + "/apply.sh"));
        order.verify(guest).upload(eq(shadowTarget()), eq(bundle.resolve("openssl_3.0.22_amd64.deb")),
                eq(PatchBundle.GUEST_DIR + "/openssl_3.0.22_amd64.deb"));
        order.verify(guest).run(eq(shadowTarget()), eq(PatchBundle.GUEST_DIR + "/apply.sh"), any());
    }
}
