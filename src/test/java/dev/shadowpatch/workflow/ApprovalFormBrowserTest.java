package dev.shadowpatch.workflow;

import dev.shadowpatch.audit.RunAudit;
import dev.shadowpatch.evidence.InstalledPackage;
import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.merge.Decision;
import dev.shadowpatch.merge.MergePlan;
import dev.shadowpatch.merge.Op;
import dev.shadowpatch.merge.Rule;
import dev.shadowpatch.testing.HeadlessChromium;
import org.camunda.bpm.engine.ProcessEngines;
import org.camunda.bpm.engine.runtime.ProcessInstance;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.camunda.bpm.engine.test.assertions.bpmn.BpmnAwareTests.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyMap;
import static org.mockito.ArgumentMatchers.argThat;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.when;

/**
 * The approval as an operator does it, in a real browser: the app on a random port with Tasklist, a
 * first operator from {@code SP_OPERATOR_USER}/{@code SP_OPERATOR_PASSWORD}, and a run at its approval
 * (the shadow's package changes with CVE ids, two conflicts with their rows). Debian's chromium,
 * headless, driven over its DevTools protocol, logs in to Tasklist, opens the task, sees the package
 * rows, a CVE id, the predicted downtime's parts and the two conflict rows, decides the two conflicts
 * (line merge on one, the shadow's version on the other), approves and completes the task. The run
 * must then have left the approval with exactly those decisions applied to its plan. Screenshots of
 * the form are kept under target/.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "SP_ADMIN_PASSWORD=" + ApprovalFormBrowserTest.ADMIN_PASSWORD,
        "SP_OPERATOR_USER=" + ApprovalFormBrowserTest.OPERATOR_USER,
        "SP_OPERATOR_PASSWORD=" + ApprovalFormBrowserTest.OPERATOR_PASSWORD})
class ApprovalFormBrowserTest extends ProcessTestSupport {
    static final String ADMIN_PASSWORD = "Adm1n-Secret-approval-browser";
    static final String OPERATOR_USER = "otto";
    static final String OPERATOR_PASSWORD = "Otto-Secret-approval-browser-4e1b";
    static final Duration PAGE = Duration.ofSeconds(45);
    static final Path SCREENSHOT = Path.of("target", "approval-form.png");
    static final Path CONFLICTS_SCREENSHOT = Path.of("target", "approval-form-conflicts.png");

    @LocalServerPort int port;
    @Autowired RunAudit audit;
    @TempDir Path browserDir;

    @BeforeEach
    void aRunWithPackageChangesAndTwoConflicts() {
        // Tasklist finds its engine in a JVM-wide registry by name; another test context may hold that name
        if (ProcessEngines.getProcessEngines().get(engine.getName()) != engine) {
            ProcessEngines.registerProcessEngine(engine);
        }
        when(guest.run(eq(shadowTarget()), eq(InstalledPackage.DPKG_QUERY), any()))
                .thenReturn(printed(ShadowPatchingProcessTest.PACKAGES_BEFORE), printed(ShadowPatchingProcessTest.PACKAGES_AFTER));
        when(guest.run(eq(shadowTarget()), argThat(c -> c != null && c.contains("sp_cl()")), any()))
                .thenReturn(printed(ShadowPatchingProcessTest.CHANGELOGS));
        when(merger.plan(any(), any())).thenReturn(ConflictDecisionsProcessTest.twoConflicts());
        ImageMerger resolver = new ImageMerger(null, ""); // resolution only reads and rewrites the plan's JSON
        when(merger.resolve(any(), anyMap(), any())).thenAnswer(call -> resolver.resolve(call.getArgument(0), call.getArgument(1), call.getArgument(2)));
    }

    @Test
    void anOperatorDecidesTheConflictsAndApprovesInTasklist() throws Exception {
        long t0 = System.nanoTime();
        ProcessInstance pi = runToApproval();
        assertThat(pi).isWaitingAt("approvePatch");
        String base = "http://localhost:" + port + "/camunda/app/tasklist/default/";

        try (HeadlessChromium browser = HeadlessChromium.start(browserDir, 1400, 2000)) {
            long started = System.nanoTime();
            browser.navigate(base);
            browser.waitFor("Tasklist's login form", "!!document.querySelector('form[name=signinForm] input[ng-model=password]')", PAGE);
            browser.evaluate(fill("input[ng-model=username]", OPERATOR_USER) + fill("input[ng-model=password]", OPERATOR_PASSWORD)
                    + "document.querySelector('form[name=signinForm] button[type=submit]').click(); true");

            // the operators' filter lists the task: open it as the operator would, by its name
            browser.waitFor("the task 'Approve patch' in the task list", clickable("Approve patch", "click"), PAGE);
            browser.waitFor("the task's form", "!!document.querySelector('form.sp-approve')", PAGE);
            browser.waitFor("the Claim button", "(() => { const b = document.querySelector('button.claim');"
                    + " if (!b) return !!document.querySelector('button.unclaim'); b.click(); return true; })()", PAGE);
            browser.waitFor("the task claimed by " + OPERATOR_USER, "!!document.querySelector('button.unclaim')", PAGE);
            assertThat(browser.evaluate("document.body.innerText").asText()).as("the operator's name in Tasklist's header")
                    .contains(OPERATOR_USER + " (operators)").doesNotContain("null null");

            String packages = browser.waitFor("the package rows", rowsText(".sp-packages tbody tr", 3), PAGE).asText();
            assertThat(packages).contains("openssl").contains("3.0.11-1~deb12u2").contains("3.0.13-1~deb12u1")
                    .contains("CVE-2024-0727").contains("CVE-2023-5678").contains("libssl3").contains("linux-image-6.1.0-28-amd64");
            String downtime = browser.waitFor("the predicted downtime's parts", rowsText(".sp-downtime tbody tr", 3), PAGE).asText();
            assertThat(downtime).contains("shutdown").contains("merge").contains("boot").contains("the shadow's boot to its address");

            String conflicts = browser.waitFor("the two conflict rows", rowsText(".sp-conflicts tr.sp-row", 2), PAGE).asText();
            assertThat(conflicts).contains("/etc/app.conf").contains("/usr/share/app/data").contains("changed content");
            assertThat(browser.evaluate("document.querySelector('.sp-resolutions').innerText").asText())
                    .as("each row starts at its preselected decision")
                    .isEqualTo("/etc/app.conf = keep-live\n/usr/share/app/data = keep-live");

            // decide each row in its select, as a click on the option does
            browser.evaluate(choose("/etc/app.conf", Decision.THREE_WAY.label()));
            browser.evaluate(choose("/usr/share/app/data", Decision.TAKE_SHADOW.label()));
            browser.waitFor("the decisions in the text the form sends",
                    "document.querySelector('.sp-resolutions').innerText === '/etc/app.conf = three-way\\n/usr/share/app/data = take-shadow'", PAGE);
            browser.evaluate("(() => { const s = document.querySelector('#approvalDecision'); s.value = 'approve';"
                    + " s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()");

            browser.evaluate("window.scrollTo(0, 0); document.querySelector('form.sp-approve').scrollIntoView(); true");
            browser.screenshot(SCREENSHOT);
            browser.evaluate("document.querySelector('.sp-conflicts').scrollIntoView(); true");
            browser.screenshot(CONFLICTS_SCREENSHOT);
            System.out.println("Approval form screenshots: " + SCREENSHOT.toAbsolutePath() + ", " + CONFLICTS_SCREENSHOT.toAbsolutePath());

            browser.waitFor("an enabled Complete button", "(() => { const b = document.querySelector('button[ng-click=\"complete()\"]');"
                    + " return !!b && !b.disabled; })()", PAGE);
            browser.evaluate("document.querySelector('button[ng-click=\"complete()\"]').click(); true");
            browser.waitFor("the task completed (its form gone)", "!document.querySelector('form.sp-approve')", PAGE);
            assertThat(browser.pageProblems()).as("errors of the page's scripts").isEmpty();
            System.out.printf("Browser part: %.1f s (chromium start to the task completed)%n", (System.nanoTime() - started) / 1e9);
        }

        // the run went on with exactly those decisions
        assertThat(pi).isWaitingAt("waitForWindow");
        assertThat(runtime.getVariable(pi.getId(), ProcessVariables.CONFLICT_RESOLUTIONS))
                .isEqualTo("/etc/app.conf = three-way\n/usr/share/app/data = take-shadow");
        assertThat(runtime.getVariable(pi.getId(), ProcessVariables.APPROVAL_DECISION)).isEqualTo("approve");
        assertThat(pi).variables().containsEntry(ProcessVariables.CONFLICT_COUNT, 0).containsEntry(ProcessVariables.APPROVAL_PROBLEM, "");
        MergePlan resolved = FileSystemPlans.fromJson(new String(fileBytes(pi, ProcessVariables.MERGE_PLAN), StandardCharsets.UTF_8))
                .byMountPoint().get("/");
        Op merged = resolved.op("etc/app.conf");
        assertThat(merged.resolution()).isEqualTo(Decision.THREE_WAY);
        assertThat(merged.rule()).isEqualTo(Rule.THREE_WAY_MERGED);
        assertThat(merged.action()).isEqualTo(Op.Action.MERGE3);
        Op taken = resolved.op("usr/share/app/data");
        assertThat(taken.resolution()).isEqualTo(Decision.TAKE_SHADOW);
        assertThat(taken.rule()).isEqualTo(Rule.TAKE_SHADOW);
        assertThat(resolved.unresolvedConflicts()).isEmpty();
        assertThat(audit.run(pi.getId()).orElseThrow().approvedBy()).as("the approval on record, from the ledger").isEqualTo(OPERATOR_USER);
        System.out.printf("Whole test: %.1f s (run to approval, browser, checks)%n", (System.nanoTime() - t0) / 1e9);
    }

    /** Sets an input as typing does (Angular listens for 'input'). */
    private static String fill(String selector, String value) {
        return "(() => { const i = document.querySelector('" + selector + "'); i.value = " + js(value) + ";"
                + " i.dispatchEvent(new Event('input', {bubbles: true})); })();";
    }

    /** Clicks the first link or button whose text is exactly this; true once clicked. */
    private static String clickable(String text, String action) {
        return "(() => { const e = [...document.querySelectorAll('a, button')].find(e => e.innerText.trim() === " + js(text) + ");"
                + " if (!e) return false; e." + action + "(); return true; })()";
    }

    /** The rows' text once there are at least {@code n} of them, else false. */
    private static String rowsText(String selector, int n) {
        return "(() => { const rows = [...document.querySelectorAll('" + selector + "')];"
                + " return rows.length >= " + n + " ? rows.map(r => r.innerText).join('\\n') : false; })()";
    }

    /** Picks the option of this label in the decision select of the conflict row of this path. */
    private static String choose(String path, String label) {
        return "(() => { const row = [...document.querySelectorAll('.sp-conflicts tr.sp-row')].find(r => r.querySelector('code').innerText === "
                + js(path) + "); const s = row.querySelector('select.sp-decision');"
                + " const i = [...s.options].findIndex(o => o.text.trim() === " + js(label) + ");"
                + " if (i < 0) throw new Error('no option ' + " + js(label) + " + ' in ' + [...s.options].map(o => o.text));"
                + " s.selectedIndex = i; s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()";
    }

    private static String js(String text) {
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    private static CommandResult printed(String stdout) {
        return new CommandResult("dpkg", 0, stdout, "", Duration.ofMillis(5));
    }
}
