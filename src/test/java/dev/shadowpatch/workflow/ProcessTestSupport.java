package dev.shadowpatch.workflow;

import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.guest.GuestShell;
import dev.shadowpatch.guest.GuestTarget;
import dev.shadowpatch.virt.Hypervisor;
import dev.shadowpatch.virt.VmAddress;
import dev.shadowpatch.virt.ShadowClone;
import org.camunda.bpm.engine.ManagementService;
import org.camunda.bpm.engine.ProcessEngine;
import org.camunda.bpm.engine.RuntimeService;
import org.camunda.bpm.engine.TaskService;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.camunda.bpm.engine.runtime.Job;
import org.camunda.bpm.engine.runtime.ProcessInstance;
import org.camunda.bpm.engine.test.assertions.bpmn.BpmnAwareTests;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.bean.override.mockito.MockitoBean;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.when;

/**
 * The real process on a real (in-memory) engine with the capabilities replaced by Mockito test
 * doubles: these tests assert the process's paths and the order of the capability calls. The
 * capabilities themselves are tested against libvirt, SSH and real file systems in their packages.
 */
@SpringBootTest
@ActiveProfiles("processtest")
@org.springframework.context.annotation.Import(ProcessTestSupport.Jobs.class)
abstract class ProcessTestSupport {
    /** Guest commands run at once through the Mockito guest shell (stubs and verifications see them). */
    @org.springframework.boot.test.context.TestConfiguration
    static class Jobs {
        @org.springframework.context.annotation.Bean @org.springframework.context.annotation.Primary
        dev.shadowpatch.guest.GuestJobs immediateGuestJobs(GuestShell guest) {
            return new dev.shadowpatch.testing.ImmediateGuestJobs(guest);
        }
    }

    static final String LIVE = "web-01";
    static final String SHADOW = "web-01-shadow";
    static final String SHADOW_IP = "192.168.150.20";
    static final String LIVE_IP = "192.168.122.10";
    static final String PATCH = "apt-get -y upgrade";
    static final String TEST = "curl -fsS http://localhost/";
    static final String OPERATOR = "olivia";

    @Autowired protected ProcessEngine engine;
    @Autowired protected RuntimeService runtime;
    @Autowired protected TaskService taskService;
    @Autowired protected ManagementService management;
    @Autowired protected dev.shadowpatch.guest.GuestJobs guestJobs;

    @MockitoBean Hypervisor hypervisor;
    /** Hosts named by a run (campaigns): CampaignProcessTest answers with simulated hosts. */
    @MockitoBean protected dev.shadowpatch.virt.HypervisorFactory hypervisorFactory;
    @MockitoBean protected GuestShell guest;
    @MockitoBean protected ShadowMerger merger;

    final ShadowClone clone = new ShadowClone("run", LIVE, SHADOW, "vda", Path.of("/images/web-01.qcow2"),
            Path.of("/images/web-01.live.qcow2"), Path.of("/images/web-01.shadow.qcow2"), null);
    final ShadowClone merging = clone.withMergeOverlay(Path.of("/images/web-01.merge.qcow2"));

    @BeforeEach
    void stubHappyCapabilities() {
        BpmnAwareTests.init(engine);
        when(hypervisor.createShadow(eq(LIVE), any())).thenReturn(clone);
        when(hypervisor.waitForAddress(eq(SHADOW), any(), any())).thenReturn(new VmAddress(SHADOW_IP, VmAddress.Source.DHCP_LEASE));
        when(hypervisor.waitForAddress(eq(LIVE), any(), any())).thenReturn(new VmAddress(LIVE_IP, VmAddress.Source.GUEST_AGENT));
        when(hypervisor.createMergeOverlay(any(), any())).thenReturn(merging);
        when(hypervisor.shutdown(any(), any())).thenReturn(dev.shadowpatch.virt.PowerOff.CLEAN);
        when(hypervisor.isRunning(SHADOW)).thenReturn(true);
        when(guest.run(any(), any(), any())).thenAnswer(call -> ok(call.getArgument(1)));
        when(merger.plan(any(), any())).thenReturn(plan(List.of()));
        when(merger.outsideFileSystems(any(), any())).thenReturn(new ShadowMerger.OutsideFileSystems(List.of(), List.of()));
        when(merger.merge(any(), any(), any(), any())).thenReturn(new ShadowMerger.MergeResult(
                "{\"merged\":true}".getBytes(StandardCharsets.UTF_8),
                Map.of("take-shadow-replace (rule 3)", 42L, "take-shadow-create (rule 2)", 3L), 123_456L,
                Duration.ofSeconds(2)));
    }

    /** Each test starts with no open run: one run per VM would refuse the next test's start. */
    @AfterEach
    void resetClockAndRuns() {
        ClockUtil.reset();
        ((dev.shadowpatch.testing.ImmediateGuestJobs) guestJobs).reset();
        runtime.createProcessInstanceQuery().list().forEach(pi ->
                runtime.deleteProcessInstanceIfExists(pi.getId(), "end of test", true, true, true, true));
    }

    protected static ShadowMerger.PlanResult plan(List<String> unresolved) {
        List<String> conflicts = unresolved.stream().map(p -> p + "  [ask] base 0644 1 KiB, live 0644 2 KiB, shadow 0644 3 KiB").toList();
        return new ShadowMerger.PlanResult("{\"plan\":[]}".getBytes(StandardCharsets.UTF_8),
                Map.of("take-shadow-replace (rule 3)", 42L), 5_000_000L, 45, conflicts, unresolved);
    }

    protected static CommandResult ok(String command) {
        return new CommandResult(command, 0, "ok\n", "", Duration.ofSeconds(1));
    }

    protected static CommandResult failed(String command) {
        return new CommandResult(command, 1, "", "it broke\n", Duration.ofSeconds(1));
    }

    /** The shadow is a clone: its host key is checked against the live VM's pinned entry. */
    static GuestTarget shadowTarget() {
        return GuestTarget.direct(SHADOW_IP, "root").withHostKeyAlias(LIVE);
    }

    static GuestTarget liveTarget() {
        return GuestTarget.direct(LIVE_IP, "root").withHostKeyAlias(LIVE);
    }

    /** A run whose window is open now (started a minute ago, two hours long). */
    ProcessInstance startRun() {
        Instant now = ClockUtil.getCurrentTime().toInstant();
        return startRun(now.minusSeconds(60), now.plus(Duration.ofHours(2)));
    }

    ProcessInstance startRun(Instant windowStart, Instant windowEnd) {
        return startRun(windowStart, windowEnd, Map.of());
    }

    /** A run whose window is open now, with more start variables. */
    ProcessInstance startRun(Map<String, Object> more) {
        Instant now = ClockUtil.getCurrentTime().toInstant();
        return startRun(now.minusSeconds(60), now.plus(Duration.ofHours(2)), more);
    }

    ProcessInstance startRun(Instant windowStart, Instant windowEnd, Map<String, Object> more) {
        return startRun(LIVE, windowStart, windowEnd, more);
    }

    /** A run of another VM than {@value #LIVE} (its capabilities stubbed by the test). */
    ProcessInstance startRun(String liveVm, Instant windowStart, Instant windowEnd, Map<String, Object> more) {
        Map<String, Object> vars = new HashMap<>(more);
        vars.put(ProcessVariables.LIVE_VM, liveVm);
        vars.put(ProcessVariables.PATCH_COMMAND, PATCH);
        vars.put(ProcessVariables.TEST_COMMAND, TEST);
        vars.put(ProcessVariables.REQUESTED_WINDOW_START, windowStart.toString());
        vars.put(ProcessVariables.REQUESTED_WINDOW_END, windowEnd.toString());
        return runtime.startProcessInstanceByKey(ProcessKeys.SHADOW_PATCHING, vars);
    }

    /** Executes async continuations (not timers) until the instance waits for a person, a timer or a message. */
    void runUntilWaiting(ProcessInstance pi) {
        executeUntilNone(() -> management.createJobQuery().processInstanceId(pi.getId()).messages().withRetriesLeft().list());
    }

    /**
     * Executes the jobs the query finds, round after round, until it finds none, as the job executor
     * would: with no user authenticated (an operator may not execute jobs; the job executor is no user).
     */
    protected void executeUntilNone(java.util.function.Supplier<List<Job>> query) {
        asJobExecutor(() -> executeRounds(query));
    }

    private void asJobExecutor(Runnable work) {
        var identity = engine.getIdentityService();
        var user = identity.getCurrentAuthentication();
        identity.clearAuthentication();
        try {
            work.run();
        } finally {
            if (user != null) {
                identity.setAuthentication(user);
            }
        }
    }

    private void executeRounds(java.util.function.Supplier<List<Job>> query) {
        for (int i = 0; i < 300; i++) {
            List<Job> jobs = query.get();
            if (jobs.isEmpty()) {
                return;
            }
            for (Job job : jobs) {
                try {
                    management.executeJob(job.getId());
                } catch (RuntimeException failedAttempt) {
                    // a failed attempt decrements the job's retries, as the job executor would
                }
            }
        }
        throw new AssertionError("The process did not come to rest after 300 job rounds");
    }

    /** Fires the (possibly not yet due) timer of the given activity. */
    void fireTimer(ProcessInstance pi, String activityId) {
        Job timer = management.createJobQuery().processInstanceId(pi.getId()).timers().activityId(activityId).singleResult();
        if (timer == null) {
            throw new AssertionError("No timer waiting at " + activityId);
        }
        asJobExecutor(() -> management.executeJob(timer.getId()));
    }

    /**
     * Completes the task as an authenticated operator would in Tasklist (authorizations apply): the
     * user the test authenticated, else {@value #OPERATOR}.
     */
    protected void completeTask(ProcessInstance pi, String taskKey, Map<String, Object> variables) {
        var task = taskService.createTaskQuery().processInstanceId(pi.getId()).taskDefinitionKey(taskKey).singleResult();
        if (task == null) {
            throw new AssertionError("No task " + taskKey + " open");
        }
        var identity = engine.getIdentityService();
        boolean asDefault = identity.getCurrentAuthentication() == null;
        if (asDefault) {
            identity.setAuthentication(OPERATOR, List.of(ProcessKeys.GROUP_OPERATORS));
        }
        try {
            taskService.complete(task.getId(), variables);
        } finally {
            if (asDefault) {
                identity.clearAuthentication();
            }
        }
    }

    /** The content of a run's file variable (a plan, rows, a report). */
    protected byte[] fileBytes(ProcessInstance pi, String name) {
        org.camunda.bpm.engine.variable.value.FileValue file = runtime.getVariableTyped(pi.getId(), name);
        try (var in = file.getValue()) {
            return in.readAllBytes();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** A run's variable as the history keeps it (also after the run ended). */
    protected Object historic(ProcessInstance pi, String name) {
        var v = engine.getHistoryService().createHistoricVariableInstanceQuery()
                .processInstanceId(pi.getId()).variableName(name).singleResult();
        return v == null ? null : v.getValue();
    }

    void approve(ProcessInstance pi) {
        completeTask(pi, "approvePatch", Map.of(ProcessVariables.APPROVAL_DECISION, "approve"));
    }

    /** The run up to the approval task, with everything passing. */
    ProcessInstance runToApproval() {
        ProcessInstance pi = startRun();
        runUntilWaiting(pi);
        return pi;
    }
}
