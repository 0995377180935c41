package dev.shadowpatch.campaign;

import dev.shadowpatch.testing.AppNode;
import dev.shadowpatch.testing.CapabilityLog;
import dev.shadowpatch.testing.FleetInventory;
import dev.shadowpatch.testing.HeadlessChromium;
import dev.shadowpatch.testing.PostgresNodes;
import dev.shadowpatch.testing.RecordingGuestShell;
import dev.shadowpatch.testing.RecordingHypervisor;
import dev.shadowpatch.testing.RecordingShadowMerger;
import dev.shadowpatch.testing.SimulatedHypervisor;
import dev.shadowpatch.workflow.ProcessKeys;
import dev.shadowpatch.workflow.ProcessVariables;
import org.camunda.bpm.engine.ProcessEngine;
import org.camunda.bpm.engine.runtime.ProcessInstance;
import org.camunda.bpm.engine.task.Task;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.WebApplicationType;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The campaign report page in a real browser: the app on a random port with a finished campaign in
 * its history, Debian's chromium (headless) loads /api/campaigns/ID/report as an auditor (HTTP Basic
 * from the URL's user info, answered after the server's 401 challenge), and the chart must be there:
 * SVG bars in the rendered DOM and the chart's colour in the screenshot's pixels. Also the JSON and
 * CSV forms of the same report, and that anonymous callers get nothing.
 */
class CampaignReportBrowserTest {
    static final String AUDITOR = "audrey";
    static final String AUDITOR_PASSWORD = "aud-" + UUID.randomUUID();
    static final int VMS = 8;

    @TempDir static Path dataDir;
    static AppNode node;
    static String campaignId;

    @BeforeAll
    static void startTheAppWithAFinishedCampaign() {
        SimulatedHypervisor.Fleet fleet = new SimulatedHypervisor.Fleet();
        CapabilityLog log = new CapabilityLog();
        List<String> args = new ArrayList<>(List.of("--server.port=0",
                "--spring.datasource.url=jdbc:h2:mem:report-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1",
                "--shadowpatch.data-dir=" + dataDir, "--SP_ADMIN_PASSWORD=admin-" + UUID.randomUUID(),
                "--SP_AUDITOR_USER=" + AUDITOR, "--SP_AUDITOR_PASSWORD=" + AUDITOR_PASSWORD,
                "--shadowpatch.inventory-file=" + twoWindowInventory(),
                // the second group's window: also every 10 s for 8 s, 5 s after the first's
                "--shadowpatch.windows.soon.cycle=5/10 * * * * *", "--shadowpatch.windows.soon.duration=PT8S",
                "--shadowpatch.windows.soon.rollback-margin=PT1S",
                "--camunda.bpm.job-execution.wait-time-in-millis=" + PostgresNodes.IDLE_WAIT_MILLIS,
                "--camunda.bpm.job-execution.max-wait=" + PostgresNodes.MAX_IDLE_WAIT_MILLIS));
        args.addAll(FleetInventory.shortWindowArgs());
        node = AppNode.start("report-node", WebApplicationType.SERVLET, args, new RecordingHypervisor("report-node", log),
                new RecordingGuestShell("report-node", log), new RecordingShadowMerger("report-node", log), fleet);

        ProcessEngine engine = node.engine();
        engine.getIdentityService().setAuthentication("olga", List.of(ProcessKeys.GROUP_OPERATORS));
        try {
            ProcessInstance campaign = engine.getRuntimeService().startProcessInstanceByKey(CampaignVariables.PROCESS_KEY, Map.of(
                    CampaignVariables.NAME, "report <demo>", CampaignVariables.GROUPS, "fleet,fleet-b",
                    CampaignVariables.CANARY_VMS, FleetInventory.vm(0),
                    ProcessVariables.PATCH_COMMAND, "apt-get -y upgrade", ProcessVariables.TEST_COMMAND, "true",
                    CampaignVariables.MAX_CONCURRENCY, "4"));
            campaignId = campaign.getId();
            Task approval = await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                    .until(() -> approvable(engine), t -> t != null);
            engine.getTaskService().complete(approval.getId(), Map.of(CampaignVariables.DECISION, "approve"));
        } finally {
            engine.getIdentityService().clearAuthentication();
        }
        await("the campaign's end").atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(200))
                .until(() -> engine.getHistoryService().createHistoricProcessInstanceQuery().processInstanceId(campaignId)
                        .finished().count() == 1);
    }

    /** The simulated fleet with its odd VMs moved to a second group on the window "soon". */
    private static Path twoWindowInventory() {
        try {
            Path file = FleetInventory.write(dataDir, 3, VMS);
            String yaml = Files.readString(file).replace("groups:\n", "groups:\n  - {name: fleet-b, window: soon}\n");
            for (int v = 1; v < VMS; v += 2) {
                yaml = yaml.replace("{name: " + FleetInventory.vm(v) + ", host: " + FleetInventory.host(v, 3) + ", group: fleet}",
                        "{name: " + FleetInventory.vm(v) + ", host: " + FleetInventory.host(v, 3) + ", group: fleet-b}");
            }
            return Files.writeString(file, yaml);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The approval task once the canary has its plan (the task refuses earlier). */
    private static Task approvable(ProcessEngine engine) {
        boolean canaryWaits = engine.getRuntimeService().createExecutionQuery().activityId("awaitCampaignDecision").count() == 1;
        return canaryWaits ? engine.getTaskService().createTaskQuery().processInstanceId(campaignId)
                .taskDefinitionKey("approveCampaign").singleResult() : null;
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void theReportPageRendersItsChartInHeadlessChromium() throws Exception {
        String chromium = HeadlessChromium.executable();
        String url = "http://" + AUDITOR + ":" + AUDITOR_PASSWORD + "@localhost:" + node.port() + "/api/campaigns/" + campaignId + "/report";

        String dom = run(chromium, "--dump-dom", url);
        assertThat(dom).contains("<h1>Campaign report &lt;demo&gt;</h1>");
        String perVm = svg(dom, "downtime-per-vm");
        assertThat(count(perVm, "<rect ")).as("one bar per VM").isEqualTo(VMS);
        assertThat(perVm).contains("fill=\"" + DowntimeChart.PALETTE[0] + "\"");
        String perWindow = svg(dom, "downtime-per-window");
        assertThat(count(perWindow, "<rect ")).as("a bar per window the merges ran in").isGreaterThanOrEqualTo(2);
        assertThat(perWindow).contains(">now ").contains(">soon ");
        assertThat(count(dom, "<td>patched</td>")).isEqualTo(VMS);
        assertThat(dom).contains("<td>olga</td>");

        Path png = Files.createDirectories(Path.of("target")).resolve("campaign-report.png"); // kept for a look
        run(chromium, "--screenshot=" + png, url);
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image).as("screenshot " + png).isNotNull();
        assertThat(pixelsOf(image, 0x1f, 0x77, 0xb4)).as("pixels in the chart's bar colour").isGreaterThan(VMS * 100);
    }

    @Test
    void theSameReportIsJsonAndCsvForAuditorsAndNothingForAnonymousCallers() throws Exception {
        HttpResponse<String> json = get("/api/campaigns/" + campaignId, true);
        assertThat(json.statusCode()).isEqualTo(200);
        assertThat(json.body()).contains("\"name\":\"report <demo>\"").contains("\"outcome\":\"completed (8 patched, 0 failed, 0 skipped)\"");
        HttpResponse<String> csv = get("/api/campaigns/" + campaignId + ".csv", true);
        assertThat(csv.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/csv"));
        List<String> lines = csv.body().lines().toList();
        assertThat(lines).hasSize(VMS + 1);
        assertThat(lines.get(0)).startsWith("vm,host,group,window,canary,state,reason,approvedBy");
        assertThat(lines.get(1)).startsWith("vm-000,sim-00,fleet,now,true,patched,,olga,");
        assertThat(get("/api/campaigns", true).body()).contains(campaignId);
        assertThat(get("/api/campaigns/" + campaignId + "/report", false).statusCode()).isEqualTo(401);
        assertThat(get("/api/campaigns/" + campaignId, false).statusCode()).isEqualTo(401);
    }

    private static HttpResponse<String> get(String path, boolean asAuditor) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://localhost:" + node.port() + path));
        if (asAuditor) {
            request.header("Authorization", "Basic " + Base64.getEncoder()
                    .encodeToString((AUDITOR + ":" + AUDITOR_PASSWORD).getBytes(StandardCharsets.UTF_8)));
        }
        return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String run(String chromium, String action, String url) throws IOException, InterruptedException {
        Path profile = Files.createTempDirectory(dataDir, "chromium-");
        Path out = dataDir.resolve("chromium-" + UUID.randomUUID() + ".out");
        Process p = new ProcessBuilder(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--user-data-dir=" + profile, "--window-size=1280,1600", action, url)
                .redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("chromium did not finish within 90 s");
        }
        assertThat(p.exitValue()).as("chromium's exit code").isZero();
        return Files.readString(out);
    }

    private static String svg(String dom, String id) {
        Matcher m = Pattern.compile("<svg[^>]*id=\"" + id + "\".*?</svg>", Pattern.DOTALL).matcher(dom);
        assertThat(m.find()).as("an <svg id=" + id + "> in the rendered page").isTrue();
        return m.group();
    }

    private static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }

    private static int pixelsOf(BufferedImage image, int r, int g, int b) {
        int n = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y);
                if (Math.abs(((rgb >> 16) & 0xff) - r) < 8 && Math.abs(((rgb >> 8) & 0xff) - g) < 8 && Math.abs((rgb & 0xff) - b) < 8) {
                    n++;
                }
            }
        }
        return n;
    }
}
