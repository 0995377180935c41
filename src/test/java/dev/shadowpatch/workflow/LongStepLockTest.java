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
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Steps that outlast the job lock time (the plan of a release upgrade before the window, the merge
 * of a large patch in it: here 4 lock times each), on two nodes sharing PostgreSQL with both
 * executors running, and on one node on the embedded H2 database. Without {@link JobLockKeeper}
 * (held for every step: {@link EveryStepKeepsItsLock}) the expired lock lets an executor take the
 * job up a second time while the first still runs; with it each runs exactly once and the run ends
 * patched without a failed job.
 */
@Tag("postgres")
class LongStepLockTest {
    /**
     * Short, so each long step outlives it four times in 8 s (the keeper renews every third of it, so a
     * renewal may come 1.3 s late before the lock lapses); production: 90 s.
     */
    private static final int LOCK_MILLIS = 2000;
    private static final Duration MERGE_TAKES = Duration.ofMillis(4 * LOCK_MILLIS);
    private static final Duration TIMEOUT = Duration.ofSeconds(90);

    @TempDir static Path dataDir;
    static EmbeddedPostgres pg;
    static final CapabilityLog calls = new CapabilityLog();
    static AppNode nodeA;
    static AppNode nodeB;

    @BeforeAll
    static void startPostgresAndTwoNodes() throws IOException {
        pg = EmbeddedPostgres.builder().start();
        nodeA = AppNode.start("node-a", WebApplicationType.SERVLET, args("node-a"), new RecordingHypervisor("node-a", calls),
                new RecordingGuestShell("node-a", calls), new RecordingShadowMerger("node-a", calls).mergeTakes(MERGE_TAKES).planTakes(MERGE_TAKES));
        nodeB = AppNode.start("node-b", WebApplicationType.SERVLET, args("node-b"), new RecordingHypervisor("node-b", calls),
                new RecordingGuestShell("node-b", calls), new RecordingShadowMerger("node-b", calls).mergeTakes(MERGE_TAKES).planTakes(MERGE_TAKES));
    }

    private static List<String> args(String node) {
        return PostgresNodes.args(pg, dataDir, node,
                "--server.port=0",
                "--camunda.bpm.job-execution.lock-time-in-millis=" + LOCK_MILLIS,
                "--camunda.bpm.process-engine-name=" + node.replace("-", ""));
    }

    @AfterAll
    static void stop() throws IOException {
        for (AutoCloseable c : new AutoCloseable[] {nodeA, nodeB, pg}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                throw new IOException(e);
            }
        }
    }

    @Test
    void aMergeLongerThanTheLockTimeRunsOnceAndTheRunEndsPatched() {
        calls.clear();
        runWithALongMerge(nodeA.engine());
    }

    /** The keeper's update of the lock on the default database, where the job's own transaction runs beside it. */
    @Test
    void onTheEmbeddedH2DatabaseToo() {
        calls.clear();
        try (AppNode h2 = AppNode.start("node-h2", WebApplicationType.SERVLET, List.of("--server.port=0",
                        "--shadowpatch.data-dir=" + dataDir.resolve("node-h2"),
                        "--camunda.bpm.job-execution.lock-time-in-millis=" + LOCK_MILLIS,
                        "--camunda.bpm.job-execution.wait-time-in-millis=" + PostgresNodes.IDLE_WAIT_MILLIS,
                        "--camunda.bpm.job-execution.max-wait=" + PostgresNodes.MAX_IDLE_WAIT_MILLIS,
                        "--camunda.bpm.process-engine-name=nodeh2", "--SP_ADMIN_PASSWORD=" + PostgresNodes.ADMIN_PASSWORD),
                new RecordingHypervisor("node-h2", calls), new RecordingGuestShell("node-h2", calls),
                new RecordingShadowMerger("node-h2", calls).mergeTakes(MERGE_TAKES).planTakes(MERGE_TAKES))) {
            runWithALongMerge(h2.engine());
        }
    }

    private void runWithALongMerge(ProcessEngine engine) {
        ProcessInstance pi = AppNode.asOperator(engine, e -> e.getRuntimeService()
                .startProcessInstanceByKey(ProcessKeys.SHADOW_PATCHING, RunRequest.windowOpenNow()));
        Task approval = await("the approval task").atMost(TIMEOUT).until(() -> engine.getTaskService().createTaskQuery()
                .processInstanceId(pi.getId()).taskDefinitionKey("approvePatch").singleResult(), t -> t != null);
        AppNode.asOperator(engine, e -> {
            e.getTaskService().complete(approval.getId(), Map.of(ProcessVariables.APPROVAL_DECISION, "approve"));
            return null;
        });
        HistoryService history = engine.getHistoryService();
        await("the run's end").atMost(TIMEOUT).until(() -> history.createHistoricProcessInstanceQuery()
                .processInstanceId(pi.getId()).finished().count() == 1);

        assertThat(history.createHistoricVariableInstanceQuery().processInstanceId(pi.getId())
                .variableName(ProcessVariables.OUTCOME).singleResult().getValue()).isEqualTo(RunOutcome.PATCHED.words);
        List<String> merges = calls.calls().stream().filter(c -> c.call().equals("merger.merge")).map(CapabilityLog.Call::toString).toList();
        assertThat(merges).as("merges started on either node").hasSize(1);
        assertThat(calls.calls().stream().filter(c -> c.call().equals("merger.plan")).map(CapabilityLog.Call::toString).toList())
                .as("plans (a step outside the window) started on either node").hasSize(1);
        assertThat(history.createHistoricJobLogQuery().processInstanceId(pi.getId()).failureLog().list())
                .as("failed job attempts (a second taker's optimistic-locking failure would be one)").isEmpty();
        assertThat(history.createHistoricActivityInstanceQuery().processInstanceId(pi.getId()).activityId("mergeChanges")
                .count()).isOne();
    }
}
