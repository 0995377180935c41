package dev.shadowpatch.workflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shadowpatch.audit.RunAudit;
import dev.shadowpatch.merge.ConflictRows;
import dev.shadowpatch.merge.Decision;
import dev.shadowpatch.merge.Entry;
import dev.shadowpatch.merge.MergePlan;
import dev.shadowpatch.merge.Op;
import dev.shadowpatch.merge.PathFacts;
import dev.shadowpatch.merge.Planner;
import dev.shadowpatch.merge.Rule;
import dev.shadowpatch.merge.fs.FileType;
import org.camunda.bpm.engine.runtime.ProcessInstance;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.camunda.bpm.engine.test.assertions.bpmn.BpmnAwareTests.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyMap;
import static org.mockito.Mockito.when;

/**
 * The approval's conflict rows through the real process: a plan with two conflicts (one whose text
 * diff3 merges cleanly, one it does not) reaches the approval with a row each; the operator's
 * per-row decisions, sent as conflictResolutions, are applied to the plan by the real resolution of
 * {@link ImageMerger} (the plan settled from its JSON, as in the app), or send the run back with the reason.
 */
class ConflictDecisionsProcessTest extends ProcessTestSupport {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String BASE = "a=1\nb=2\nc=3\nd=4\n", LIVE_TEXT = "a=LIVE\nb=2\nc=3\nd=4\n", SHADOW_TEXT = "a=1\nb=2\nc=3\nd=SHADOW\n";
    static final String MERGED = "a=LIVE\nb=2\nc=3\nd=SHADOW\n";

    @Autowired RunAudit audit;
    /** resolution only reads and rewrites the plan's JSON: no disks */
    final ImageMerger resolver = new ImageMerger(null, "");

    static Entry text(String content) {
        byte[] b = content.getBytes(StandardCharsets.UTF_8);
        return new Entry(FileType.FILE, 0644, 0, 0, b.length, null, null, null, Map.of(), sha256(b), 1, 1, 0, 0);
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The plan computed before approval: etc/app.conf merges cleanly, usr/share/app/data does not; one plain update. */
    static ShadowMerger.PlanResult twoConflicts() {
        Map<String, String[]> texts = Map.of("etc/app.conf", new String[]{BASE, LIVE_TEXT, SHADOW_TEXT},
                "usr/share/app/data", new String[]{"x\n", "x=live\n", "x=shadow\n"});
        List<PathFacts> facts = List.of(
                PathFacts.fromEntries("etc/app.conf", text(BASE), text(LIVE_TEXT), text(SHADOW_TEXT), false),
                PathFacts.fromEntries("usr/share/app/data", text("x\n"), text("x=live\n"), text("x=shadow\n"), false),
                PathFacts.fromEntries("usr/bin/tool", text("v1"), text("v1"), text("v2"), false));
        Planner.TextMerger diff3 = f -> f.path().equals("etc/app.conf")
                ? Optional.of(new Planner.Merged(sha256(MERGED.getBytes(StandardCharsets.UTF_8)), MERGED.length())) : Optional.empty();
        MergePlan plan = new MergePlan(Planner.plan(facts, p -> Decision.ASK, p -> null, diff3), null);
        ConflictRows rows = new ConflictRows().add(plan.unresolvedConflicts(), p -> "/" + p,
                (side, path, max) -> texts.get(path)[side.ordinal()].getBytes(StandardCharsets.UTF_8));
        return ShadowMerger.PlanResult.of(new FileSystemPlans(Map.of("/", plan)), rows);
    }

    @BeforeEach
    void aPlanWithTwoConflicts() {
        when(merger.plan(any(), any())).thenReturn(twoConflicts());
        when(merger.resolve(any(), anyMap(), any())).thenAnswer(call -> resolver.resolve(call.getArgument(0), call.getArgument(1), call.getArgument(2)));
    }

    @Test
    void theOperatorsPerRowDecisionsAreAppliedToThePlan() throws Exception {
        ProcessInstance pi = runToApproval();
        assertThat(pi).isWaitingAt("approvePatch");
        assertThat(pi).variables().containsEntry(ProcessVariables.CONFLICT_COUNT, 2);
        JsonNode rows = json(pi, ProcessVariables.CONFLICT_ROWS).get("rows");
        assertThat(rows).hasSize(2);
        assertThat(rows.get(0).get("path").asText()).isEqualTo("/etc/app.conf");
        assertThat(rows.get(1).get("path").asText()).isEqualTo("/usr/share/app/data");
        for (JsonNode row : rows) {
            assertThat(row.get("preselected").asText()).isEqualTo("keep-live");
            assertThat(row.get("live").get("kinds").toString()).isEqualTo("[\"changed content\"]");
        }
        assertThat(choices(rows.get(0))).containsExactly("keep-live", "take-shadow", "hybrid", "three-way");
        assertThat(choices(rows.get(1))).containsExactly("keep-live", "take-shadow", "hybrid");
        assertThat(rows.get(0).get("diff").get("live").asText()).contains("-a=1\n+a=LIVE");
        assertThat(rows.get(0).get("diff").get("shadow").asText()).contains("-d=4\n+d=SHADOW");
        JsonNode byDirectory = json(pi, ProcessVariables.PLAN_BY_DIRECTORY);
        assertThat(byDirectory.get("directories").toString()).contains("\"directory\":\"/usr/bin\"").contains("\"ask (unresolved conflict)\":1");

        // what the form submits: a line per row, its decision
        completeTask(pi, "approvePatch", Map.of(ProcessVariables.APPROVAL_DECISION, "approve",
                ProcessVariables.CONFLICT_RESOLUTIONS, "/etc/app.conf = three-way\n/usr/share/app/data = take-shadow"));
        assertThat(pi).isWaitingAt("waitForWindow");
        assertThat(pi).variables().containsEntry(ProcessVariables.CONFLICT_COUNT, 0).containsEntry(ProcessVariables.APPROVAL_PROBLEM, "");
        MergePlan resolved = FileSystemPlans.fromJson(new String(fileBytes(pi, ProcessVariables.MERGE_PLAN), StandardCharsets.UTF_8))
                .byMountPoint().get("/");
        Op merged = resolved.op("etc/app.conf");
        assertThat(merged.action()).isEqualTo(Op.Action.MERGE3);
        assertThat(merged.rule()).isEqualTo(Rule.THREE_WAY_MERGED);
        assertThat(merged.resolution()).isEqualTo(Decision.THREE_WAY);
        assertThat(merged.mergedSha256()).as("the merge offered is the one approved").isEqualTo(sha256(MERGED.getBytes(StandardCharsets.UTF_8)));
        Op taken = resolved.op("usr/share/app/data");
        assertThat(taken.rule()).isEqualTo(Rule.TAKE_SHADOW);
        assertThat(taken.action()).isEqualTo(Op.Action.WRITE);
        assertThat(resolved.unresolvedConflicts()).isEmpty();
        // the plan by directory is that of the resolved plan, in the variable and in the audit
        assertThat(json(pi, ProcessVariables.PLAN_BY_DIRECTORY).get("directories").toString()).contains("\"three-way-merged\":1")
                .doesNotContain("ask (unresolved conflict)");
        PlanByDirectory audited = audit.run(pi.getId()).orElseThrow().planByDirectory();
        assertThat(audited).isNotNull();
        assertThat(audited.directories()).anySatisfy(d -> {
            assertThat(d.directory()).isEqualTo("/etc");
            assertThat(d.rules()).containsEntry("three-way-merged", 1L);
            assertThat(d.bytes()).isEqualTo(MERGED.length());
        });
    }

    @Test
    void aDecisionForAPathThatIsNoConflictSendsTheRunBackWithTheReason() {
        ProcessInstance pi = runToApproval();
        assertThat(sentBackFor(pi, "/etc/app.conf = keep-live\n/usr/share/app/data = keep-live\n/usr/bin/tool = keep-live"))
                .contains("Not conflicts of this plan").contains("/usr/bin/tool");
        assertThat(pi).variables().containsEntry(ProcessVariables.CONFLICT_COUNT, 2);
    }

    @Test
    void aLineMergeWhereDiff3DoesNotMergeCleanlySendsTheRunBackWithTheReason() {
        ProcessInstance pi = runToApproval();
        assertThat(sentBackFor(pi, "/etc/app.conf = keep-live\n/usr/share/app/data = three-way"))
                .contains("/usr/share/app/data").contains("cannot be settled with three-way");
        // the rows stay those of the plan computed: the form shows them again
        assertThat((Object) runtime.getVariableTyped(pi.getId(), ProcessVariables.CONFLICT_ROWS, false)).isNotNull();
    }

    @Test
    void theFormRendersTheRowsAndThePlanByDirectoryAndHasNoTextarea() throws Exception {
        String form = new String(getClass().getResourceAsStream("/processes/approve-patch.html").readAllBytes(), StandardCharsets.UTF_8);
        assertThat(form).doesNotContain("<textarea")
                .contains("'" + ProcessVariables.CONFLICT_ROWS + "'").contains("'" + ProcessVariables.PLAN_BY_DIRECTORY + "'")
                .contains("ng-repeat=\"row in conflicts.rows\"").contains("ng-repeat=\"d in byDirectory.directories\"")
                .contains("cam-variable-name=\"conflictFallback\"").doesNotContain("http://").doesNotContain("https://");
    }

    /** Approves with these decisions; the run must be back at the approval: its reason. */
    private String sentBackFor(ProcessInstance pi, String resolutions) {
        completeTask(pi, "approvePatch", Map.of(ProcessVariables.APPROVAL_DECISION, "approve",
                ProcessVariables.CONFLICT_RESOLUTIONS, resolutions));
        assertThat(pi).isWaitingAt("approvePatch");
        return (String) runtime.getVariable(pi.getId(), ProcessVariables.APPROVAL_PROBLEM);
    }

    private List<String> choices(JsonNode row) {
        return java.util.stream.StreamSupport.stream(row.get("choices").spliterator(), false).map(c -> c.get("decision").asText()).toList();
    }

    private JsonNode json(ProcessInstance pi, String name) throws IOException {
        return JSON.readTree(fileBytes(pi, name));
    }
}
