package dev.shadowpatch.security;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shadowpatch.testing.CapabilityLog;
import dev.shadowpatch.testing.RecordingGuestShell;
import dev.shadowpatch.testing.RecordingHypervisor;
import dev.shadowpatch.testing.RecordingShadowMerger;
import dev.shadowpatch.testing.Rest;
import dev.shadowpatch.testing.RunRequest;
import dev.shadowpatch.workflow.ProcessKeys;
import dev.shadowpatch.workflow.ProcessVariables;
import org.camunda.bpm.engine.HistoryService;
import org.camunda.bpm.engine.IdentityService;
import org.camunda.bpm.engine.ManagementService;
import org.camunda.bpm.engine.ProcessEngine;
import org.camunda.bpm.engine.ProcessEngines;
import org.camunda.bpm.engine.RuntimeService;
import org.camunda.bpm.engine.TaskService;
import org.camunda.bpm.engine.identity.User;
import org.camunda.bpm.engine.runtime.Job;
import org.camunda.bpm.engine.task.Task;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.ActiveProfiles;

import java.nio.charset.StandardCharsets;
import java.sql.Blob;
import java.sql.Clob;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Who may do what through the real HTTP stack ({@code /engine-rest}, HTTP Basic, Camunda's
 * authorizations as {@link IdentityBootstrap} grants them): anonymous callers are refused, an
 * auditor reads but cannot start or complete, an operator starts a run and decides its approval.
 * And no password ends up in a run's variables or history.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "SP_ADMIN_PASSWORD=" + RestSecurityTest.ADMIN_PASSWORD)
@ActiveProfiles("processtest") // in-memory H2, no job executor: the test drives the jobs
class RestSecurityTest {
    static final String ADMIN_PASSWORD = "Adm1n-Secret-7c4e1f0b-rest";
    static final String OPERATOR = "olga";
    static final String AUDITOR = "arno";
    static final String OPERATOR_PASSWORD = "Op-Secret-" + UUID.randomUUID();
    static final String AUDITOR_PASSWORD = "Au-Secret-" + UUID.randomUUID();
    static final String START = "/process-definition/key/" + ProcessKeys.SHADOW_PATCHING + "/start";

    @TestConfiguration
    static class CapabilityDoubles {
        static final CapabilityLog CALLS = new CapabilityLog();

        // Primary: the real implementations are beans too (they connect only on first use).
        @Bean @Primary RecordingHypervisor testHypervisor() {
            return new RecordingHypervisor("rest", CALLS);
        }

        @Bean @Primary RecordingGuestShell testGuestShell() {
            return new RecordingGuestShell("rest", CALLS);
        }

        @Bean @Primary dev.shadowpatch.testing.ImmediateGuestJobs testGuestJobs(RecordingGuestShell shell) {
            return new dev.shadowpatch.testing.ImmediateGuestJobs(shell);
        }

        @Bean @Primary RecordingShadowMerger testShadowMerger() {
            return new RecordingShadowMerger("rest", CALLS);
        }
    }

    @LocalServerPort int port;
    @Autowired ProcessEngine engine;
    @Autowired IdentityService identity;
    @Autowired RuntimeService runtime;
    @Autowired TaskService tasks;
    @Autowired ManagementService management;
    @Autowired HistoryService history;
    @Autowired JdbcTemplate jdbc;

    Rest anonymous;
    Rest operator;
    Rest auditor;

    @BeforeEach
    void usersAndClients() {
        // Camunda's REST API finds its engine in a JVM-wide registry by name; other test contexts in this
        // JVM may have registered (or, closing, removed) another engine named "default".
        if (ProcessEngines.getProcessEngines().get(engine.getName()) != engine) {
            ProcessEngines.registerProcessEngine(engine);
        }
        user(OPERATOR, OPERATOR_PASSWORD, ProcessKeys.GROUP_OPERATORS);
        user(AUDITOR, AUDITOR_PASSWORD, ProcessKeys.GROUP_AUDITORS);
        // one open run per VM: each test starts with none
        runtime.createProcessInstanceQuery().list().forEach(pi ->
                runtime.deleteProcessInstanceIfExists(pi.getId(), "next test", true, true, true, true));
        anonymous = Rest.anonymous(port);
        operator = Rest.as(port, OPERATOR, OPERATOR_PASSWORD);
        auditor = Rest.as(port, AUDITOR, AUDITOR_PASSWORD);
    }

    @Test
    void anonymousAndWrongCredentialsAreRefused() {
        long runs = runs();
        for (String path : List.of("/process-definition", "/history/process-instance", "/task", "/user", "/deployment",
                "/engine/default/process-definition")) {
            Rest.Response r = anonymous.get(path);
            assertThat(r.status()).as("anonymous GET " + path).isEqualTo(401);
            assertThat(r.raw().headers().firstValue("WWW-Authenticate")).as(path).hasValueSatisfying(v -> assertThat(v).startsWith("Basic"));
        }
        assertThat(anonymous.post(START, startRequest()).status()).isEqualTo(401);
        // A wrong password locks the user for a few seconds (Camunda's login throttling): a user of its own.
        user("oskar", OPERATOR_PASSWORD, ProcessKeys.GROUP_OPERATORS);
        assertThat(Rest.as(port, "oskar", "wrong-" + OPERATOR_PASSWORD).post(START, startRequest()).status()).isEqualTo(401);
        assertThat(Rest.as(port, "nobody", OPERATOR_PASSWORD).get("/process-definition").status()).isEqualTo(401);
        assertThat(runs()).as("no run was started").isEqualTo(runs);
        // The one exception, by Camunda's design: the list of engine names (nothing else) needs no login.
        Rest.Response engines = anonymous.get("/engine");
        assertThat(engines.status()).isEqualTo(200);
        assertThat(engines.json()).allSatisfy(e -> assertThat(e.fieldNames()).toIterable().containsExactly("name"));
    }

    @Test
    void anAuditorReadsDefinitionsAndHistoryButCannotStartOrComplete() {
        String run = startAsOperator();
        Task approval = runToApproval(run);

        Rest.Response definitions = auditor.get("/process-definition?key=" + ProcessKeys.SHADOW_PATCHING);
        assertThat(definitions.status()).as(definitions.toString()).isEqualTo(200);
        assertThat(definitions.json()).extracting(d -> d.get("key").asText()).contains(ProcessKeys.SHADOW_PATCHING);
        Rest.Response instances = auditor.get("/history/process-instance?processDefinitionKey=" + ProcessKeys.SHADOW_PATCHING);
        assertThat(instances.status()).as(instances.toString()).isEqualTo(200);
        assertThat(instances.json()).extracting(i -> i.get("id").asText()).contains(run);
        Rest.Response variables = auditor.get("/history/variable-instance?processInstanceId=" + run + "&variableName=" + ProcessVariables.STARTED_BY);
        assertThat(variables.status()).as(variables.toString()).isEqualTo(200);
        assertThat(variables.json()).extracting(v -> v.get("value").asText()).containsExactly(OPERATOR);
        // Tasklist's list of processes the user may start: empty for an auditor
        Rest.Response startable = auditor.get("/process-definition?startableInTasklist=true&startablePermissionCheck=true&latestVersion=true");
        assertThat(startable.status()).isEqualTo(200);
        assertThat(startable.json()).isEmpty();

        long runs = runs();
        Rest.Response start = auditor.post(START, startRequest());
        assertThat(start.status()).as(start.toString()).isEqualTo(403);
        assertThat(runs()).isEqualTo(runs);

        Rest.Response complete = auditor.post("/task/" + approval.getId() + "/complete", decision("approve"));
        assertThat(complete.status()).as(complete.toString()).isEqualTo(403);
        Rest.Response claim = auditor.post("/task/" + approval.getId() + "/claim", Map.of("userId", AUDITOR));
        assertThat(claim.status()).as(claim.toString()).isEqualTo(403);
        // nor change the run some other way: its variables, or the window message that releases it
        Rest.Response variable = auditor.put("/process-instance/" + run + "/variables/" + ProcessVariables.APPROVED_BY,
                Map.of("value", AUDITOR, "type", "String"));
        assertThat(variable.status()).as(variable.toString()).isEqualTo(403);
        Task still = tasks.createTaskQuery().taskId(approval.getId()).singleResult();
        assertThat(still).as("the approval task is still open").isNotNull();
        assertThat(still.getAssignee()).isNull();
        assertThat(runtime.getVariable(run, ProcessVariables.APPROVED_BY)).isNull();

        // once approved the run waits for the window message: an auditor cannot send it
        assertThat(operator.post("/task/" + approval.getId() + "/complete", decision("approve")).status()).isEqualTo(204);
        assertThat(runtime.createEventSubscriptionQuery().processInstanceId(run)
                .eventName(ProcessKeys.MESSAGE_WINDOW_OPENED).count()).isEqualTo(1);
        Rest.Response message = auditor.post("/message", Map.of("messageName", ProcessKeys.MESSAGE_WINDOW_OPENED, "all", true));
        assertThat(message.status()).as(message.toString()).isEqualTo(403);
        assertThat(message.json().get("type").asText()).isEqualTo("AuthorizationException");
        assertThat(runtime.getActiveActivityIds(run)).containsExactly("waitForWindow");
    }

    @Test
    void anOperatorStartsARunAndApprovesItThroughRest() {
        Rest.Response startable = operator.get("/process-definition?startableInTasklist=true&startablePermissionCheck=true&latestVersion=true");
        assertThat(startable.status()).as(startable.toString()).isEqualTo(200);
        assertThat(startable.json()).extracting(d -> d.get("key").asText())
                .containsExactlyInAnyOrder(ProcessKeys.SHADOW_PATCHING, dev.shadowpatch.campaign.CampaignVariables.PROCESS_KEY);

        long runs = runs();
        Rest.Response window = operator.post("/process-definition/key/" + ProcessKeys.MAINTENANCE_WINDOW + "/start", Map.of());
        assertThat(window.status()).as("an operator cannot open the maintenance window by hand: " + window).isEqualTo(403);
        assertThat(runtime.createProcessInstanceQuery().processDefinitionKey(ProcessKeys.MAINTENANCE_WINDOW).count()).isZero();

        String run = startAsOperator();
        assertThat(runs()).isEqualTo(runs + 1);
        runToApproval(run);

        // as Tasklist does it: find the task, load its embedded form, complete it
        Rest.Response found = operator.get("/task?processInstanceId=" + run);
        assertThat(found.status()).as(found.toString()).isEqualTo(200);
        assertThat(found.json()).hasSize(1);
        JsonNode task = found.json().get(0);
        assertThat(task.get("taskDefinitionKey").asText()).isEqualTo("approvePatch");
        String taskId = task.get("id").asText();
        Rest.Response form = operator.get("/task/" + taskId + "/deployed-form");
        assertThat(form.status()).as(form.toString()).isEqualTo(200);
        assertThat(form.body()).contains("cam-variable-name=\"approvalDecision\"");
        Rest.Response evidence = operator.get("/task/" + taskId + "/form-variables");
        assertThat(evidence.status()).as(evidence.toString()).isEqualTo(200);
        assertThat(evidence.json().get(ProcessVariables.MERGE_PLAN_SUMMARY).get("value").asText()).contains("No conflicts");

        Rest.Response complete = operator.post("/task/" + taskId + "/complete", decision("approve"));
        assertThat(complete.status()).as(complete.toString()).isEqualTo(204);

        assertThat(tasks.createTaskQuery().processInstanceId(run).count()).isZero();
        assertThat(management.createJobQuery().processInstanceId(run).timers().activityId("windowStarts").count()).isEqualTo(1);
        assertThat(historic(run, ProcessVariables.STARTED_BY)).isEqualTo(OPERATOR);
        assertThat(historic(run, ProcessVariables.APPROVED_BY)).isEqualTo(OPERATOR);
        assertThat(history.createUserOperationLogQuery().taskId(taskId).operationType("Complete").userId(OPERATOR).count())
                .as("the user operation log names who completed the approval").isGreaterThan(0);
    }

    /**
     * Each way an operator could take a live VM down outside its window or without an approval, or
     * rewrite what the audit says, tried over REST: refused with 403, and the run still waits with
     * its VM untouched. What an operator needs (retry a failed job) still works.
     */
    @Test
    void everyBypassOfTheWindowOrTheApprovalIsRefusedToAnOperator() {
        String run = startAsOperator();
        Task approval = runToApproval(run);
        assertThat(operator.post("/task/" + approval.getId() + "/complete", decision("approve")).status()).isEqualTo(204);
        Job timer = management.createJobQuery().processInstanceId(run).timers().activityId("windowStarts").singleResult();
        assertThat(timer).isNotNull();
        int callsBefore = CapabilityDoubles.CALLS.steps().size();

        Map<String, Rest.Response> attempts = new LinkedHashMap<>();
        attempts.put("correlate the window message to every run",
                operator.post("/message", Map.of("messageName", ProcessKeys.MESSAGE_WINDOW_OPENED, "all", true)));
        attempts.put("execute the run's window timer by hand", operator.post("/job/" + timer.getId() + "/execute", Map.of()));
        attempts.put("start the run at the merge by modification", operator.post("/process-instance/" + run + "/modification",
                Map.of("instructions", List.of(Map.of("type", "startBeforeActivity", "activityId", "mergeChanges")))));
        attempts.put("overwrite approvedBy", operator.put("/process-instance/" + run + "/variables/" + ProcessVariables.APPROVED_BY,
                Map.of("value", "mallory", "type", "String")));
        attempts.put("overwrite the approved plan", operator.put("/process-instance/" + run + "/variables/" + ProcessVariables.MERGE_PLAN,
                Map.of("value", "{}", "type", "String")));
        attempts.put("edit the run's variables in bulk", operator.post("/process-instance/" + run + "/variables",
                Map.of("modifications", Map.of(ProcessVariables.WINDOW_OPENS_AT, Map.of("value", "2020-01-01T00:00:00.000+0000", "type", "Date")))));
        attempts.put("move the window timer's due date", operator.put("/job/" + timer.getId() + "/duedate",
                Map.of("duedate", "2020-01-01T00:00:00.000+0000")));
        attempts.put("start the maintenance-window process", operator.post(
                "/process-definition/key/" + ProcessKeys.MAINTENANCE_WINDOW + "/start", Map.of()));
        attempts.forEach((what, r) -> assertThat(r.status()).as(what + ": " + r).isEqualTo(403));

        assertThat(runtime.getActiveActivityIds(run)).containsExactly("waitForWindow");
        assertThat(CapabilityDoubles.CALLS.steps().size()).as("nothing was called on the hypervisor, guest or merge").isEqualTo(callsBefore);
        assertThat(runtime.getVariable(run, ProcessVariables.APPROVED_BY)).isEqualTo(OPERATOR);

        // What an operator may do: retry a job that failed (here: made to look failed by the admin).
        management.setJobRetries(timer.getId(), 0);
        Rest.Response retry = operator.put("/job/" + timer.getId() + "/retries", Map.of("retries", 1));
        assertThat(retry.status()).as(retry.toString()).isEqualTo(204);
        assertThat(management.createJobQuery().jobId(timer.getId()).singleResult().getRetries()).isEqualTo(1);
    }

    @Test
    void noPasswordEndsUpInTheDatabaseAfterARunStartedAndApprovedThroughRest() {
        String run = startAsOperator();
        Task approval = runToApproval(run);
        assertThat(operator.post("/task/" + approval.getId() + "/complete", decision("approve")).status()).isEqualTo(204);
        Job window = management.createJobQuery().processInstanceId(run).timers().activityId("windowStarts").singleResult();
        management.executeJob(window.getId());
        runJobs(run);
        assertThat(history.createHistoricProcessInstanceQuery().processInstanceId(run).finished().count())
                .as("the run ended").isEqualTo(1);

        // Every table, every column, bytes decoded: variables, file variables, history, job and operation logs.
        List<String> hits = new ArrayList<>();
        int[] tables = {0};
        boolean[] sawEvidence = {false};
        for (String table : jdbc.queryForList("select table_name from information_schema.tables where table_schema = 'PUBLIC'", String.class)) {
            tables[0]++;
            jdbc.query("select * from \"" + table + "\"", rs -> {
                int columns = rs.getMetaData().getColumnCount();
                for (int c = 1; c <= columns; c++) {
                    Object value = rs.getObject(c);
                    String text;
                    if (value instanceof Blob blob) {
                        text = new String(blob.getBytes(1, (int) blob.length()), StandardCharsets.UTF_8);
                    } else if (value instanceof Clob clob) {
                        text = clob.getSubString(1, (int) clob.length());
                    } else if (value instanceof byte[] bytes) {
                        text = new String(bytes, StandardCharsets.UTF_8);
                    } else {
                        text = String.valueOf(value);
                    }
                    if (!(value instanceof String) && text.contains("$ " + RunRequest.PATCH)) {
                        sawEvidence[0] = true; // the scan does read file variables' contents
                    }
                    for (String secret : List.of(ADMIN_PASSWORD, OPERATOR_PASSWORD, AUDITOR_PASSWORD)) {
                        if (text.contains(secret)) {
                            hits.add(table + "." + rs.getMetaData().getColumnName(c));
                        }
                    }
                }
            });
        }
        assertThat(tables[0]).as("tables scanned").isGreaterThan(40);
        assertThat(sawEvidence[0]).as("the patch transcript (a file variable) was among the scanned values").isTrue();
        assertThat(hits).as("columns holding a plaintext password").isEmpty();
        // the admin exists with exactly that password: the secret was in play, just never stored in clear
        assertThat(identity.checkPassword("admin", ADMIN_PASSWORD)).isTrue();
    }

    // --- helpers

    private void user(String id, String password, String group) {
        if (identity.createUserQuery().userId(id).count() == 0) {
            User user = identity.newUser(id);
            user.setPassword(password);
            identity.saveUser(user);
            identity.createMembership(id, group);
        }
    }

    private long runs() {
        return runtime.createProcessInstanceQuery().processDefinitionKey(ProcessKeys.SHADOW_PATCHING).count()
                + history.createHistoricProcessInstanceQuery().processDefinitionKey(ProcessKeys.SHADOW_PATCHING).finished().count();
    }

    private static Map<String, Object> startRequest() {
        Map<String, Object> variables = new LinkedHashMap<>();
        RunRequest.windowOpenNow().forEach((k, v) -> variables.put(k, Map.of("value", v, "type", "String")));
        return Map.of("variables", variables);
    }

    private static Map<String, Object> decision(String decision) {
        return Map.of("variables", Map.of(ProcessVariables.APPROVAL_DECISION, Map.of("value", decision, "type", "String")));
    }

    private String startAsOperator() {
        Rest.Response started = operator.post(START, startRequest());
        assertThat(started.status()).as(started.toString()).isEqualTo(200);
        return started.json().get("id").asText();
    }

    private Task runToApproval(String run) {
        runJobs(run);
        Task task = tasks.createTaskQuery().processInstanceId(run).taskDefinitionKey("approvePatch").singleResult();
        assertThat(task).as("run " + run + " waits for its approval").isNotNull();
        return task;
    }

    /** What the job executor would do: run the asynchronous steps until the run waits. */
    private void runJobs(String run) {
        for (int round = 0; round < 50; round++) {
            List<Job> jobs = management.createJobQuery().processInstanceId(run).messages().withRetriesLeft().list();
            if (jobs.isEmpty()) {
                return;
            }
            jobs.forEach(job -> management.executeJob(job.getId()));
        }
        throw new AssertionError("run " + run + " did not come to rest");
    }

    private Object historic(String run, String name) {
        var v = history.createHistoricVariableInstanceQuery().processInstanceId(run).variableName(name).singleResult();
        return v == null ? null : v.getValue();
    }
}
