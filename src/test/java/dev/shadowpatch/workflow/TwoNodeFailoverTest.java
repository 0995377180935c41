package dev.shadowpatch.workflow;

import dev.shadowpatch.testing.AppNode;
import dev.shadowpatch.testing.CapabilityLog;
import dev.shadowpatch.testing.PostgresNodes;
import dev.shadowpatch.testing.RecordingGuestShell;
import dev.shadowpatch.testing.RecordingHypervisor;
import dev.shadowpatch.testing.RecordingShadowMerger;
import dev.shadowpatch.testing.RunRequest;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.camunda.bpm.engine.HistoryService;
import org.camunda.bpm.engine.ProcessEngine;
import org.camunda.bpm.engine.history.HistoricActivityInstance;
import org.camunda.bpm.engine.history.HistoricJobLog;
import org.camunda.bpm.engine.impl.persistence.entity.JobEntity;
import org.camunda.bpm.engine.runtime.ProcessInstance;
import org.camunda.bpm.engine.task.Task;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.WebApplicationType;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Camunda's cluster model on the production profile: two engine nodes on one PostgreSQL share the
 * jobs of a run. Node A hangs inside a step (its guest never answers) and is stopped while it hangs;
 * node B takes the orphaned job over once A's lock expires and finishes the run. No step is lost,
 * none runs twice except the one that hung, and history tells which node did what.
 */
@Tag("postgres")
class TwoNodeFailoverTest {
    /**
     * Short, so the survivor takes the orphaned job over within seconds of node A's stop (node A renews the
     * hung step's lock every third of it while it lives); production: 90 s.
     */
    private static final int LOCK_MILLIS = 3000;
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @TempDir static Path dataDir;
    static EmbeddedPostgres pg;
    static final CapabilityLog calls = new CapabilityLog();
    static final RecordingGuestShell guestOnA = new RecordingGuestShell("node-a", calls).hangOn(RunRequest.PATCH);
    static AppNode nodeA;
    static AppNode nodeB;

    @BeforeAll
    static void startPostgresAndTwoNodes() throws IOException {
        pg = EmbeddedPostgres.builder().start();
        // One after the other, as a fresh database needs: the first node creates the schema.
        nodeA = AppNode.start("node-a", WebApplicationType.SERVLET, nodeArgs("node-a"),
                new RecordingHypervisor("node-a", calls), guestOnA, new RecordingShadowMerger("node-a", calls));
        nodeB = AppNode.start("node-b", calls, WebApplicationType.SERVLET, nodeArgs("node-b"));
    }

    private static List<String> nodeArgs(String node) {
        return PostgresNodes.args(pg, dataDir, node,
                "--server.port=0", // each node with its web apps and REST API, on its own port
                "--camunda.bpm.job-execution.lock-time-in-millis=" + LOCK_MILLIS,
                // a stopping node waits this long for running jobs (default 30 s); the hung one never ends
                "--spring.lifecycle.timeout-per-shutdown-phase=1s",
                // two engines in one JVM: distinct names keep Camunda's static engine registry apart
                "--camunda.bpm.process-engine-name=" + node.replace("-", ""));
    }

    @AfterAll
    static void stop() throws IOException {
        guestOnA.release(); // the hung call on the stopped node fails now; its transaction is long gone
        if (nodeA != null) {
            nodeA.close();
        }
        if (nodeB != null) {
            nodeB.close();
        }
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void whenANodeIsStoppedInsideAStepTheOtherNodeFinishesTheRun() throws Exception {
        // Both nodes deployed the same files: one version of each process, one calendar timer (not one per node).
        var repository = nodeB.engine().getRepositoryService();
        assertThat(repository.createProcessDefinitionQuery().processDefinitionKey(ProcessKeys.SHADOW_PATCHING).count()).isEqualTo(1);
        assertThat(repository.createProcessDefinitionQuery().processDefinitionKey(ProcessKeys.MAINTENANCE_WINDOW).count()).isEqualTo(1);
        assertThat(nodeB.engine().getManagementService().createJobQuery()
                .processDefinitionKey(ProcessKeys.MAINTENANCE_WINDOW).timers().count()).isEqualTo(1);

        // Node B takes no job until A hangs: that decides which node gets stuck, nothing else.
        nodeB.jobExecutor().shutdown();

        ProcessInstance pi = AppNode.asOperator(nodeA.engine(), e -> e.getRuntimeService()
                .startProcessInstanceByKey(ProcessKeys.SHADOW_PATCHING, RunRequest.windowOpenNow()));
        assertThat(guestOnA.awaitHanging(TIMEOUT)).as("node A's patch call hangs").isTrue();

        ProcessEngine engineB = nodeB.engine();
        JobEntity patchJob = (JobEntity) engineB.getManagementService().createJobQuery().processInstanceId(pi.getId())
                .activityId("patchShadow").singleResult();
        assertThat(patchJob.getLockOwner()).as("the patch job is locked by node A's job executor")
                .isEqualTo(nodeA.jobExecutor().getLockOwner());

        nodeA.close(); // waits for the hung step up to the shutdown-phase timeout, then stops anyway
        assertThat(nodeA.isRunning()).isFalse();

        nodeB.jobExecutor().start();
        Task approval = await("node B runs the orphaned patch step and the rest up to the approval").atMost(TIMEOUT)
                .until(() -> engineB.getTaskService().createTaskQuery().processInstanceId(pi.getId())
                        .taskDefinitionKey("approvePatch").singleResult(), t -> t != null);
        AppNode.asOperator(nodeB.engine(), e -> {
            e.getTaskService().complete(approval.getId(), Map.of(ProcessVariables.APPROVAL_DECISION, "approve"));
            return null;
        });
        HistoryService history = engineB.getHistoryService();
        await("the run's end on node B").atMost(TIMEOUT).until(() -> history.createHistoricProcessInstanceQuery()
                .processInstanceId(pi.getId()).finished().count() == 1);

        // The end event is reached and the live VM was patched.
        assertThat(history.createHistoricActivityInstanceQuery().processInstanceId(pi.getId()).activityId("patched")
                .finished().count()).isEqualTo(1);
        assertThat(history.createHistoricVariableInstanceQuery().processInstanceId(pi.getId())
                .variableName(ProcessVariables.OUTCOME).singleResult().getValue()).isEqualTo("patched");

        // No step lost, none twice: node A did the snapshot, read the packages and the running code, began the change
        // capture and hung in the patch, node B did the rest once (beginning the capture again finds it running: it is
        // kept, not restarted).
        List<String> onA = new ArrayList<>(RunRequest.BEFORE_APPROVAL.subList(0, 8));
        onA.add("guest.run(hanging) " + RecordingHypervisor.SHADOW_ADDRESS + " " + RunRequest.PATCH);
        assertThat(calls.stepsOn("node-a")).containsExactlyElementsOf(onA);
        List<String> onB = new ArrayList<>(RunRequest.BEFORE_APPROVAL.subList(6, RunRequest.BEFORE_APPROVAL.size()));
        onB.addAll(RunRequest.IN_WINDOW);
        assertThat(calls.stepsOn("node-b")).containsExactlyElementsOf(onB);

        // History agrees: every activity once (the hung attempt left nothing), no failure, no incident.
        List<HistoricActivityInstance> activities = history.createHistoricActivityInstanceQuery()
                .processInstanceId(pi.getId()).list();
        Map<String, Long> perActivity = activities.stream()
                .collect(Collectors.groupingBy(HistoricActivityInstance::getActivityId, Collectors.counting()));
        assertThat(perActivity).containsKeys("snapshotAndClone", "patchShadow", "testShadow", "approvePatch",
                "quiesceLive", "mergeChanges", "verifyLive", "cleanupPatched", "patched");
        assertThat(perActivity).allSatisfy((activity, n) -> assertThat(n).as(activity).isEqualTo(1L));
        assertThat(history.createHistoricJobLogQuery().processInstanceId(pi.getId()).failureLog().count()).isZero();
        assertThat(history.createHistoricIncidentQuery().processInstanceId(pi.getId()).count()).isZero();

        // ... and tells which node executed which step: the same patch job, created on A, finished on B.
        Map<String, String> executedBy = history.createHistoricJobLogQuery().processInstanceId(pi.getId()).successLog()
                .list().stream().collect(Collectors.toMap(HistoricJobLog::getActivityId, HistoricJobLog::getHostname));
        assertThat(executedBy).containsEntry("snapshotAndClone", "node-a").containsEntry("patchShadow", "node-b")
                .containsEntry("computeMergePlan", "node-b").containsEntry("verifyLive", "node-b")
                .containsEntry("cleanupPatched", "node-b");
        HistoricJobLog patchDone = history.createHistoricJobLogQuery().processInstanceId(pi.getId())
                .activityIdIn("patchShadow").successLog().singleResult();
        assertThat(patchDone.getJobId()).isEqualTo(patchJob.getId());
        assertThat(history.createHistoricJobLogQuery().jobId(patchJob.getId()).creationLog().singleResult().getHostname())
                .isEqualTo("node-a");
        assertThat(history.createHistoricVariableInstanceQuery().processInstanceId(pi.getId())
                .variableName(ProcessVariables.APPROVED_BY).singleResult().getValue()).isEqualTo("olga");
    }
}
