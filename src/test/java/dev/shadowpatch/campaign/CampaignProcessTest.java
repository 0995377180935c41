package dev.shadowpatch.campaign;

import dev.shadowpatch.workflow.RunOutcome;
import dev.shadowpatch.guest.GuestTarget;
import dev.shadowpatch.testing.SimulatedHypervisor;
import dev.shadowpatch.workflow.ProcessTestAccess;
import dev.shadowpatch.workflow.ProcessVariables;
import dev.shadowpatch.workflow.ShadowMerger;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.camunda.bpm.engine.runtime.Job;
import org.camunda.bpm.engine.runtime.ProcessInstance;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.argThat;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.when;

/**
 * processes/patch-campaign.bpmn with the real shadow-patching runs it calls, on a fleet of simulated
 * hosts (src/test/resources/campaign/inventory.yaml, {@link SimulatedHypervisor}): the limits, the
 * failure threshold, the canary gate, the per-VM approval exception, window fitting and skipped VMs.
 * Jobs are driven by the test (the job executor is off), timers only when they are due.
 */
class CampaignProcessTest extends ProcessTestAccess {
    static final String PATCH = "apt-get -y upgrade";
    static final String TEST = "curl -fsS http://localhost/";
    static final SimulatedHypervisor.Fleet fleet = new SimulatedHypervisor.Fleet();

    @Autowired CampaignReport report;

    @BeforeEach
    void simulatedHosts() {
        removeLeftovers(); // also those of other test classes sharing this engine
        fleet.reset();
        when(hypervisorFactory.connect(any(), any())).thenAnswer(call -> fleet.host(call.getArgument(0)));
    }

    @AfterEach
    void removeLeftovers() {
        ClockUtil.reset();
        List<String> ids = runtime.createProcessInstanceQuery().rootProcessInstances().list().stream()
                .map(ProcessInstance::getId).toList();
        if (!ids.isEmpty()) {
            runtime.deleteProcessInstances(ids, "test cleanup", true, true);
        }
    }

    @Test
    void theOverallLimitIsNeverExceededAndEveryVmIsPatched() {
        ProcessInstance campaign = start(Map.of(CampaignVariables.GROUPS, "web", CampaignVariables.MAX_CONCURRENCY, "2"));
        approveCampaign(campaign);
        drive();

        assertThat(campaign(campaign).outcome()).startsWith("completed");
        assertThat(fleet.started()).containsExactlyInAnyOrder("web-01", "web-02", "web-03", "web-04", "web-05", "web-06");
        assertThat(fleet.peakInFlight()).as("VMs in flight at once, measured on the hosts").isEqualTo(2);
        assertThat(campaign(campaign).vms()).extracting(CampaignReport.VmRow::state).containsOnly("patched");
        assertThat(campaign(campaign).peakInFlight()).isEqualTo(2);
    }

    @Test
    void percentageLimitsHoldOverallAndPerHost() {
        // 6 VMs on 3 hosts (2 each): 50% overall = 3, 50% per host = 1
        ProcessInstance campaign = start(Map.of(CampaignVariables.GROUPS, "web", CampaignVariables.MAX_CONCURRENCY, "50%",
                CampaignVariables.MAX_PER_HOST, "50%"));
        approveCampaign(campaign);
        drive();

        assertThat(fleet.started()).hasSize(6);
        assertThat(fleet.peakInFlight()).isEqualTo(3);
        assertThat(fleet.peakInFlightPerHost()).containsOnlyKeys("kvm-a", "kvm-b", "kvm-c")
                .allSatisfy((host, peak) -> assertThat(peak).as(host).isEqualTo(1));
    }

    @Test
    void thePerHostLimitBindsBeforeTheOverallOne() {
        ProcessInstance campaign = start(Map.of(CampaignVariables.VMS, "web-01 web-04 web-02",
                CampaignVariables.MAX_CONCURRENCY, "10", CampaignVariables.MAX_PER_HOST, "1"));
        approveCampaign(campaign);
        drive();

        // web-01 and web-04 share kvm-a: one at a time there, while kvm-b runs web-02 alongside
        assertThat(fleet.peakInFlightPerHost()).containsEntry("kvm-a", 1).containsEntry("kvm-b", 1);
        assertThat(fleet.peakInFlight()).isEqualTo(2);
        assertThat(campaign(campaign).vms()).extracting(CampaignReport.VmRow::state).containsOnly("patched");
    }

    @Test
    void theFailureThresholdStopsNewStarts() {
        failPatchOn("web-01", "web-02");
        ProcessInstance campaign = start(Map.of(CampaignVariables.GROUPS, "web", CampaignVariables.MAX_CONCURRENCY, "1",
                CampaignVariables.MAX_FAILURES, "2"));
        approveCampaign(campaign);
        drive();

        assertThat(fleet.started()).containsExactlyInAnyOrder("web-01", "web-02");
        CampaignReport.Campaign result = campaign(campaign);
        assertThat(result.outcome()).startsWith("stopped: failure threshold reached (2 failures, limit 2)");
        assertThat(result.vms()).filteredOn(r -> r.vm().equals("web-01")).singleElement()
                .satisfies(r -> assertThat(r.state()).isEqualTo("failed"))
                .satisfies(r -> assertThat(r.reason()).contains("patch failed"));
        assertThat(result.vms()).filteredOn(r -> !r.vm().equals("web-01") && !r.vm().equals("web-02"))
                .hasSize(4).allSatisfy(r -> {
                    assertThat(r.state()).isEqualTo("not started");
                    assertThat(r.reason()).isEqualTo("failure threshold reached");
                });
        assertThat(runtime.createProcessInstanceQuery().processInstanceId(campaign.getId()).count()).isZero();
    }

    @Test
    void theRestStartOnlyAfterTheCanaryWasApprovedAndPatched() {
        ProcessInstance campaign = start(Map.of(CampaignVariables.GROUPS, "web", CampaignVariables.CANARY_VMS, "web-03",
                CampaignVariables.MAX_CONCURRENCY, "3"));
        drive();

        assertThat(fleet.started()).as("only the canary before the approval").containsExactly("web-03");
        ProcessInstance canary = run("web-03");
        assertThat(runtime.getActiveActivityIds(canary.getId())).containsExactly("awaitCampaignDecision");
        assertThat(taskService.createTaskQuery().taskDefinitionKey("approvePatch").count())
                .as("no per-VM approval for a plan without conflicts").isZero();
        assertThat(taskService.createTaskQuery().processInstanceId(campaign.getId()).singleResult().getDescription())
                .isEqualTo("Evidence of the canaries (patch and test results, conflicts, predicted downtime): /api/campaigns/"
                        + campaign.getId() + "/report");
        assertThat(campaign(campaign).vms().get(0)).as("the canary's evidence before the approval")
                .satisfies(r -> assertThat(r.vm()).isEqualTo("web-03"))
                .satisfies(r -> assertThat(r.state()).isEqualTo("running"))
                .satisfies(r -> assertThat(r.patchExitCode()).isZero())
                .satisfies(r -> assertThat(r.testsPassed()).isTrue())
                .satisfies(r -> assertThat(r.conflicts()).isZero())
                .satisfies(r -> assertThat(r.predictedDowntimeSeconds()).isPositive());

        approveCampaign(campaign);
        drive();

        CampaignReport.Campaign result = campaign(campaign);
        assertThat(result.outcome()).startsWith("completed");
        assertThat(result.vms()).hasSize(6).allSatisfy(r -> {
            assertThat(r.state()).isEqualTo("patched");
            assertThat(r.approvedBy()).as(r.vm()).isEqualTo("olga");
            assertThat(r.downtimeSeconds()).isNotNull();
        });
        assertThat(result.vms().get(0)).satisfies(r -> assertThat(r.vm()).isEqualTo("web-03"))
                .satisfies(r -> assertThat(r.canary()).isTrue());
        assertThat(result.approvedBy()).isEqualTo("olga");
    }

    @Test
    void anApprovalIsRefusedWhileACanaryHasNoPlanYet() {
        ProcessInstance campaign = start(Map.of(CampaignVariables.GROUPS, "web", CampaignVariables.CANARY_VMS, "web-03"));
        executeOne(campaign, "checkVms"); // the canary is granted its slot, its run not yet started
        assertThatThrownBy(() -> identity("olga", () -> completeTask(campaign, "approveCampaign",
                Map.of(CampaignVariables.DECISION, "approve")))).hasMessageContaining("Not yet: a canary run is starting");
        assertThat(taskService.createTaskQuery().processInstanceId(campaign.getId()).taskDefinitionKey("approveCampaign").count()).isOne();
    }

    @Test
    void aFailedCanaryEndsTheCampaignAndTheRestNeverStart() {
        failPatchOn("web-03");
        ProcessInstance campaign = start(Map.of(CampaignVariables.GROUPS, "web", CampaignVariables.CANARY_VMS, "web-03",
                CampaignVariables.MAX_FAILURES, "5"));
        drive();

        assertThat(fleet.started()).containsExactly("web-03");
        assertThat(taskService.createTaskQuery().taskDefinitionKey("approveCampaign").count())
                .as("the pending approval was withdrawn").isZero();
        assertThat(runtime.createProcessInstanceQuery().processInstanceId(campaign.getId()).count()).as("campaign ended").isZero();
        CampaignReport.Campaign result = campaign(campaign);
        assertThat(result.endReason()).isEqualTo("canary web-03 ended failed");
        assertThat(result.vms()).filteredOn(r -> !r.canary()).hasSize(5)
                .allSatisfy(r -> assertThat(r.state()).isEqualTo("not started"))
                .allSatisfy(r -> assertThat(r.reason()).isEqualTo("canary web-03 ended failed"));
    }

    @Test
    void aRejectedCampaignMergesNothing() {
        ProcessInstance campaign = start(Map.of(CampaignVariables.GROUPS, "web", CampaignVariables.CANARY_VMS, "web-01,web-02"));
        drive();
        identity("olga", () -> completeTask(campaign, "approveCampaign", Map.of(CampaignVariables.DECISION, "reject")));
        drive();

        assertThat(fleet.started()).containsExactlyInAnyOrder("web-01", "web-02");
        assertThat(fleet.inFlight()).as("the canaries' shadows were removed").isZero();
        CampaignReport.Campaign result = campaign(campaign);
        assertThat(result.outcome()).startsWith("rejected by olga");
        assertThat(result.vms()).filteredOn(CampaignReport.VmRow::canary).extracting(CampaignReport.VmRow::state).containsOnly("rejected");
        assertThat(result.vms()).filteredOn(r -> !r.canary()).extracting(CampaignReport.VmRow::state).containsOnly("not started");
    }

    @Test
    void aVmWhosePlanHasConflictsGetsItsOwnApproval() {
        when(merger.plan(argThat(clone -> clone != null && clone.liveVm().equals("web-02")), any())).thenReturn(plan(List.of("etc/app.conf")));
        when(merger.resolve(any(), eq(Map.of("etc/app.conf", "keep-live")), eq(null))).thenReturn(plan(List.of()));
        ProcessInstance campaign = start(Map.of(CampaignVariables.VMS, "web-01,web-02,web-03"));
        approveCampaign(campaign);
        drive();

        ProcessInstance exception = run("web-02");
        assertThat(runtime.getActiveActivityIds(exception.getId())).containsExactly("approvePatch");
        assertThat(fleet.started()).containsExactlyInAnyOrder("web-01", "web-02", "web-03");
        assertThat(campaign(campaign).vms()).extracting(CampaignReport.VmRow::vm, CampaignReport.VmRow::state)
                .contains(org.assertj.core.groups.Tuple.tuple("web-01", "patched"), org.assertj.core.groups.Tuple.tuple("web-03", "patched"),
                        org.assertj.core.groups.Tuple.tuple("web-02", "running"));

        identity("ivan", () -> completeTask(exception, "approvePatch", Map.of(ProcessVariables.APPROVAL_DECISION, "approve",
                ProcessVariables.CONFLICT_RESOLUTIONS, "etc/app.conf = keep-live")));
        drive();
        assertThat(campaign(campaign).vms()).filteredOn(r -> r.vm().equals("web-02")).singleElement()
                .satisfies(r -> assertThat(r.state()).isEqualTo("patched"))
                .satisfies(r -> assertThat(r.approvedBy()).as("approved on its own task").isEqualTo("ivan"));
    }

    @Test
    void aVmWhoseShadowWasForcedOffGetsItsOwnApprovalWithTheWarning() {
        fleet.forcedOff(dev.shadowpatch.testing.RecordingHypervisor.shadowOf("web-02"));
        ProcessInstance campaign = start(Map.of(CampaignVariables.VMS, "web-01,web-02"));
        approveCampaign(campaign);
        drive();

        ProcessInstance forced = run("web-02");
        assertThat(runtime.getActiveActivityIds(forced.getId()))
                .as("the campaign's approval does not cover a shadow forced off").containsExactly("approvePatch");
        assertThat((String) runtime.getVariable(forced.getId(), ProcessVariables.MERGE_PLAN_SUMMARY))
                .startsWith("WARNING (shadow shutdown: forced)");
        assertThat(campaign(campaign).vms()).filteredOn(r -> r.vm().equals("web-01")).singleElement()
                .satisfies(r -> assertThat(r.state()).isEqualTo("patched"));
    }

    @Test
    void aMergeThatNoLongerFitsWhatIsLeftOfTheWindowWaitsForTheNextOne() {
        // db-hourly: every hour at :00 for 10 minutes, 1 minute kept for a rollback; the plan predicts ~50 s
        Instant lateInWindow = Instant.now().truncatedTo(ChronoUnit.HOURS).plus(Duration.ofMinutes(8)).plusSeconds(30);
        ClockUtil.setCurrentTime(Date.from(lateInWindow));
        ProcessInstance campaign = start(Map.of(CampaignVariables.VMS, "db-01"));
        approveCampaign(campaign);
        drive();

        ProcessInstance db = run("db-01");
        assertThat(runtime.getActiveActivityIds(db.getId())).containsExactly("waitForWindow");
        Instant nextHour = lateInWindow.truncatedTo(ChronoUnit.HOURS).plus(Duration.ofHours(1));
        assertThat(((Date) runtime.getVariable(db.getId(), ProcessVariables.WINDOW_OPENS_AT)).toInstant()).isEqualTo(nextHour);
        assertThat(((Date) runtime.getVariable(db.getId(), ProcessVariables.WINDOW_CLOSES_AT)).toInstant())
                .isEqualTo(nextHour.plus(Duration.ofMinutes(10)));
        assertThat(runtime.getVariable(db.getId(), ProcessVariables.WINDOW_NAME)).isEqualTo("db-hourly");
        // the run's own prediction (its history, the shadow's boot) is below the model's shutdown + boot of 50 s:
        // the door and the schedule never count less than that, so 50 s + the 1 min margin do not fit in the 90 s left
        assertThat((Long) runtime.getVariable(db.getId(), ProcessVariables.PREDICTED_DOWNTIME_SECONDS)).isLessThan(50L);

        // the window's start is enforced too: nothing happens before it
        ClockUtil.setCurrentTime(Date.from(nextHour.minusSeconds(5)));
        drive();
        assertThat(runtime.getActiveActivityIds(db.getId())).containsExactly("waitForWindow");

        ClockUtil.setCurrentTime(Date.from(nextHour.plusSeconds(1)));
        drive();
        assertThat(campaign(campaign).vms()).singleElement().satisfies(r -> assertThat(r.state()).isEqualTo("patched"));
    }

    @Test
    void vmsThatAreNotRunningNotDefinedOrWhoseHostIsUnreachableAreSkippedWithTheReason() {
        fleet.notRunning("down-01").undefined("gone-01").unreachable("kvm-lost");
        ProcessInstance campaign = start(Map.of(CampaignVariables.GROUPS, "edge", CampaignVariables.VMS, "web-01",
                CampaignVariables.MAX_FAILURES, "1"));
        approveCampaign(campaign);
        drive();

        CampaignReport.Campaign result = campaign(campaign);
        assertThat(result.outcome()).startsWith("completed").contains("1 patched, 0 failed, 3 skipped");
        assertThat(fleet.started()).containsExactly("web-01");
        assertThat(result.vms()).extracting(CampaignReport.VmRow::vm, CampaignReport.VmRow::state, CampaignReport.VmRow::reason)
                .containsExactlyInAnyOrder(
                        org.assertj.core.groups.Tuple.tuple("down-01", "skipped", "not running on host kvm-b"),
                        org.assertj.core.groups.Tuple.tuple("gone-01", "skipped", "not defined on host kvm-c"),
                        org.assertj.core.groups.Tuple.tuple("lost-01", "skipped", "host kvm-lost unreachable: simulated host kvm-lost does not answer"),
                        org.assertj.core.groups.Tuple.tuple("web-01", "patched", null));
    }

    /**
     * A VM that passes the campaign's pre-check but whose run is refused at its start (here: another
     * run holds it) fails that VM with the problems named; the campaign goes on with the others, no
     * incident stops it, and the other run keeps its VM.
     */
    @Test
    void aRunRefusedAtItsStartFailsThatVmAndTheCampaignGoesOn() {
        ProcessInstance own = runtime.startProcessInstanceByKey("shadow-patching", Map.of(ProcessVariables.LIVE_VM, "web-02",
                ProcessVariables.HYPERVISOR_HOST, "kvm-b", ProcessVariables.PATCH_COMMAND, PATCH, ProcessVariables.TEST_COMMAND, TEST));
        ProcessInstance campaign = start(Map.of(CampaignVariables.VMS, "web-01 web-02 web-03", CampaignVariables.MAX_CONCURRENCY, "1",
                CampaignVariables.MAX_FAILURES, "2"));
        approveCampaign(campaign);
        drive();

        assertThat(runtime.createIncidentQuery().list()).as("incidents").isEmpty();
        CampaignReport.Campaign result = campaign(campaign);
        assertThat(result.outcome()).startsWith("completed").contains("2 patched, 1 failed");
        assertThat(result.vms()).filteredOn(r -> r.vm().equals("web-02")).singleElement().satisfies(r -> {
            assertThat(r.state()).isEqualTo(RunOutcome.REFUSED.words);
            assertThat(r.reason()).contains("The patch run was not started")
                    .contains("VM web-02 already has an open patch run " + own.getId());
        });
        assertThat(result.vms()).filteredOn(r -> !r.vm().equals("web-02"))
                .extracting(CampaignReport.VmRow::state).containsOnly(RunOutcome.PATCHED.words);
        assertThat(fleet.started()).as("shadows started: the own run's and the two others'")
                .containsExactlyInAnyOrder("web-01", "web-02", "web-03");
        assertThat(runtime.createProcessInstanceQuery().processInstanceId(own.getId()).count())
                .as("the run that holds web-02 goes on").isOne();
    }

    @Test
    void aMalformedRequestFailsTheStartWithEveryProblemNamed() {
        Map<String, Object> request = new HashMap<>(Map.of(CampaignVariables.NAME, "bad", CampaignVariables.VMS, "web-01 nope-9",
                CampaignVariables.GROUPS, "payroll", CampaignVariables.MAX_CONCURRENCY, "ten",
                CampaignVariables.MAX_PER_HOST, "150%", CampaignVariables.CANARY_VMS, "db-01",
                ProcessVariables.PATCH_COMMAND, PATCH));
        assertThatThrownBy(() -> runtime.startProcessInstanceByKey(CampaignVariables.PROCESS_KEY, request))
                .hasMessageContaining("6 problem(s)")
                .hasMessageContaining("'testCommand' is required")
                .hasMessageContaining("group 'payroll' is not in the inventory")
                .hasMessageContaining("VM 'nope-9' is not in the inventory")
                .hasMessageContaining("canary VM 'db-01' is not among the selected VMs")
                .hasMessageContaining("'maxConcurrency' = 'ten' is neither a number")
                .hasMessageContaining("'maxPerHost' = '150%' must be at least 1 and at most 100%");
        assertThat(runtime.createProcessInstanceQuery().processDefinitionKey(CampaignVariables.PROCESS_KEY).count()).isZero();
    }

    @Test
    void theScheduledCampaignFromConfigurationStartsOnItsTimer() {
        Job timer = management.createJobQuery().processDefinitionKey("scheduled-campaign").timers().singleResult();
        assertThat(timer).as("the scheduled campaign's timer").isNotNull();
        Instant due = timer.getDuedate().toInstant();
        assertThat(due.atZone(java.time.ZoneOffset.UTC).getHour()).isEqualTo(3);
        assertThat(due.atZone(java.time.ZoneOffset.UTC).getMinute()).isZero();

        management.executeJob(timer.getId());
        Job start = management.createJobQuery().processDefinitionKey("scheduled-campaign").messages().singleResult();
        management.executeJob(start.getId());

        ProcessInstance campaign = runtime.createProcessInstanceQuery().processDefinitionKey(CampaignVariables.PROCESS_KEY).singleResult();
        assertThat(campaign).isNotNull();
        assertThat(runtime.getVariable(campaign.getId(), CampaignVariables.NAME)).isEqualTo("nightly-web");
        assertThat(runtime.getVariable(campaign.getId(), ProcessVariables.STARTED_BY)).isEqualTo("schedule nightly-web");
        approveCampaign(campaign);
        drive();
        assertThat(campaign(campaign).vms()).hasSize(6).extracting(CampaignReport.VmRow::state).containsOnly("patched");
        assertThat(fleet.peakInFlight()).isEqualTo(2);
        assertThat(management.createJobQuery().processDefinitionKey("scheduled-campaign").timers().count())
                .as("the next occurrence is scheduled").isOne();
    }

    // --- helpers

    ProcessInstance start(Map<String, Object> selection) {
        Map<String, Object> request = new HashMap<>(selection);
        request.putIfAbsent(CampaignVariables.NAME, "test campaign");
        request.putIfAbsent(ProcessVariables.PATCH_COMMAND, PATCH);
        request.putIfAbsent(ProcessVariables.TEST_COMMAND, TEST);
        return runtime.startProcessInstanceByKey(CampaignVariables.PROCESS_KEY, request);
    }

    void approveCampaign(ProcessInstance campaign) {
        executeOne(campaign, "checkVms");
        drive(); // canaries up to their plans
        identity("olga", () -> completeTask(campaign, "approveCampaign", Map.of(CampaignVariables.DECISION, "approve")));
    }

    void executeOne(ProcessInstance campaign, String activity) {
        Job job = management.createJobQuery().processInstanceId(campaign.getId()).activityId(activity).singleResult();
        if (job != null) {
            management.executeJob(job.getId());
        }
    }

    /** Executes every due job (all process instances, timers when due) until none is left. */
    void drive() {
        executeUntilNone(() -> management.createJobQuery().executable().list());
    }

    ProcessInstance run(String vm) {
        return runtime.createProcessInstanceQuery().processDefinitionKey("shadow-patching")
                .variableValueEquals(ProcessVariables.LIVE_VM, vm).singleResult();
    }

    CampaignReport.Campaign campaign(ProcessInstance campaign) {
        return report.campaign(campaign.getId()).orElseThrow();
    }

    void failPatchOn(String... vms) {
        List<String> failing = List.of(vms);
        when(guest.run(argThat((GuestTarget t) -> t != null && failing.contains(t.hostKeyAlias())), eq(PATCH), any()))
                .thenAnswer(call -> failed(PATCH));
    }

    void identity(String user, Runnable work) {
        engine.getIdentityService().setAuthentication(user, List.of("operators"));
        try {
            work.run();
        } finally {
            engine.getIdentityService().clearAuthentication();
        }
    }
}
