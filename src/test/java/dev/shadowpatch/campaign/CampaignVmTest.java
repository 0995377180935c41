package dev.shadowpatch.campaign;

import dev.shadowpatch.ShadowPatchingApplication;
import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.guest.JschGuestShell;
import dev.shadowpatch.lab.LabVm;
import dev.shadowpatch.virt.HostCommand;
import dev.shadowpatch.workflow.ProcessVariables;
import org.camunda.bpm.engine.HistoryService;
import org.camunda.bpm.engine.IdentityService;
import org.camunda.bpm.engine.ManagementService;
import org.camunda.bpm.engine.ProcessEngine;
import org.camunda.bpm.engine.RuntimeService;
import org.camunda.bpm.engine.runtime.Incident;
import org.camunda.bpm.engine.runtime.ProcessInstance;
import org.camunda.bpm.engine.task.Task;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

/**
 * A campaign on real VMs: the application as it runs in production (real libvirt, real SSH, real
 * merge, job executor on), an inventory with two hosts, one live lab VM on each, a third VM that
 * is defined but shut off and a fourth that the host does not know. Both hosts are this machine's
 * libvirtd, reached through two different URIs
 * ({@code qemu:///system} and the remote driver's {@code qemu+unix:///system}), so each host gets its
 * own connection as a remote host would. The patch is a small real change made in the shadows; each
 * live VM is changed after its snapshot, and both must be there after the merge.
 */
@Tag("vm")
@Timeout(value = 40, unit = TimeUnit.MINUTES)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CampaignVmTest {
    static final String PREFIX = "sp-it-camp";
    static final String VM1 = PREFIX + "1";
    static final String VM2 = PREFIX + "2";
    static final String OFF = PREFIX + "-off";
    /** In the inventory, never defined on its host (an inventory out of date). */
    static final String GONE = PREFIX + "-gone";
    static final String PATCH = "printf 'patched by the campaign\\n' > /etc/sp-campaign-patched"
            + " && mkdir -p /usr/local/share/sp-campaign && date -u +%s > /usr/local/share/sp-campaign/stamp";
    static final String TEST = "grep -qx 'patched by the campaign' /etc/sp-campaign-patched";
    static final Duration SSH = Duration.ofSeconds(60);

    Path work;
    LabVm live1;
    LabVm live2;
    JschGuestShell shell;
    ConfigurableApplicationContext app;
    ProcessEngine engine;

    @BeforeAll
    void labAndApplication() throws Exception {
        removeLabVms();
        live1 = LabVm.fresh(VM1);
        live2 = LabVm.fresh(VM2);
        HostCommand.run(Duration.ofMinutes(10), LabVm.script().toString(), "--name", OFF, "--recreate", "--no-start", "--layout", "direct")
                .orThrow("ops/lab-vm --name " + OFF + " --no-start");
        shell = new JschGuestShell(live1.guestProperties());

        work = Files.createTempDirectory("sp-campaign-vm");
        Path inventory = work.resolve("inventory.yaml");
        Files.writeString(inventory, """
                hosts:
                  - {name: lab-local, uri: "qemu:///system"}
                  - {name: lab-unix, uri: "qemu+unix:///system"}
                groups:
                  - {name: lab, window: lab-now}
                vms:
                  - {name: %s, host: lab-local, group: lab}
                  - {name: %s, host: lab-unix, group: lab}
                  - {name: %s, host: lab-local, group: lab}
                  - {name: %s, host: lab-unix, group: lab}
                """.formatted(VM1, VM2, OFF, GONE));
        app = new SpringApplicationBuilder(ShadowPatchingApplication.class).web(WebApplicationType.SERVLET).run(
                "--server.port=0",
                "--shadowpatch.data-dir=" + work.resolve("data"),
                "--shadowpatch.libvirt.state-dir=" + work.resolve("chains"),
                "--shadowpatch.inventory-file=" + inventory,
                // a window opening every minute, an hour long: the runs wait at most a minute for it
                "--shadowpatch.windows.lab-now.cycle=0 * * * * *",
                "--shadowpatch.windows.lab-now.duration=PT1H",
                "--shadowpatch.windows.lab-now.rollback-margin=PT5M");
        engine = app.getBean(ProcessEngine.class);
    }

    @AfterAll
    void removeEverything() {
        if (app != null) {
            app.close();
        }
        removeLabVms();
    }

    @Test
    void aCampaignPatchesTheRunningVmsOnBothHostsAndSkipsTheOneThatIsOffAndTheOneNotDefined() {
        RuntimeService runtime = engine.getRuntimeService();
        ProcessInstance campaign = as("olga", () -> runtime.startProcessInstanceByKey(CampaignVariables.PROCESS_KEY, Map.of(
                CampaignVariables.NAME, "lab campaign",
                CampaignVariables.GROUPS, "lab",
                CampaignVariables.MAX_CONCURRENCY, "2",
                ProcessVariables.PATCH_COMMAND, PATCH,
                ProcessVariables.TEST_COMMAND, TEST)));
        String id = campaign.getId();

        Task approval = awaitAnswer("the campaign approval task", Duration.ofMinutes(5), () -> engine.getTaskService()
                .createTaskQuery().processInstanceId(id).taskDefinitionKey("approveCampaign").singleResult());
        as("olga", () -> {
            engine.getTaskService().complete(approval.getId(), Map.of(CampaignVariables.DECISION, "approve"));
            return null;
        });

        // Change each live VM after its snapshot, while its shadow is being patched: the merge must keep it.
        Set<String> changed = new HashSet<>();
        awaitAnswer("both snapshots", Duration.ofMinutes(15), () -> {
            for (LabVm vm : List.of(live1, live2)) {
                if (!changed.contains(vm.name()) && snapshotTaken(vm.name())) {
                    run(vm, "echo 'written on the live VM after the snapshot' > /root/after-snapshot && sync");
                    changed.add(vm.name());
                }
            }
            return changed.size() == 2 ? true : null;
        });

        awaitAnswer("the campaign to end", Duration.ofMinutes(30), () -> engine.getHistoryService()
                .createHistoricProcessInstanceQuery().processInstanceId(id).finished().singleResult());

        CampaignReport.Campaign result = app.getBean(CampaignReport.class).campaign(id).orElseThrow();
        assertThat(result.outcome()).startsWith("completed");
        assertThat(result.startedBy()).isEqualTo("olga");
        assertThat(result.approvedBy()).isEqualTo("olga");
        assertThat(result.vms()).extracting(CampaignReport.VmRow::vm, CampaignReport.VmRow::host,
                        CampaignReport.VmRow::state, CampaignReport.VmRow::reason)
                .containsExactlyInAnyOrder(
                        org.assertj.core.groups.Tuple.tuple(VM1, "lab-local", "patched", null),
                        org.assertj.core.groups.Tuple.tuple(VM2, "lab-unix", "patched", null),
                        org.assertj.core.groups.Tuple.tuple(OFF, "lab-local", "skipped", "not running on host lab-local"),
                        org.assertj.core.groups.Tuple.tuple(GONE, "lab-unix", "skipped", "not defined on host lab-unix"));
        assertThat(result.vms()).filteredOn(r -> r.state().equals("patched")).allSatisfy(r -> {
            assertThat(r.approvedBy()).as(r.vm()).isEqualTo("olga");
            assertThat(r.downtimeSeconds()).as(r.vm() + " downtime").isPositive();
            assertThat(r.ruleCounts()).as(r.vm() + ": the files the patch made").containsKey(dev.shadowpatch.merge.Rule.TAKE_SHADOW_CREATE.word());
        });
        assertThat(result.peakInFlight()).isBetween(1, 2);

        for (LabVm vm : List.of(live1, live2)) {
            assertThat(run(vm, "cat /etc/sp-campaign-patched /root/after-snapshot").stdout())
                    .as(vm.name() + ": the shadow's patch and the live change after the snapshot")
                    .isEqualTo("patched by the campaign\nwritten on the live VM after the snapshot\n");
        }
        assertThat(LabVm.virsh("qemu:///system", "list", "--all", "--name").lines().map(String::strip)
                .filter(n -> n.startsWith(PREFIX))).as("no shadow left behind").containsExactlyInAnyOrder(VM1, VM2, OFF);
        assertThat(LabVm.virsh("qemu:///system", "domstate", OFF).strip()).as("the skipped VM is untouched").isEqualTo("shut off");
    }

    boolean snapshotTaken(String vm) {
        HistoryService history = engine.getHistoryService();
        return history.createHistoricVariableInstanceQuery().variableValueEquals(ProcessVariables.LIVE_VM, vm)
                .list().stream().anyMatch(v -> history.createHistoricActivityInstanceQuery()
                        .processInstanceId(v.getProcessInstanceId()).activityId("snapshotAndClone").finished().count() > 0);
    }

    CommandResult run(LabVm vm, String command) {
        CommandResult r = shell.run(vm.target(), command, SSH);
        assertThat(r.exitCode()).as(vm.name() + ": " + command + "\n" + r.stderr()).isZero();
        return r;
    }

    /** Waits for a non-null answer; an incident anywhere fails at once with its message. */
    <T> T awaitAnswer(String what, Duration timeout, Supplier<T> answer) {
        ManagementService management = engine.getManagementService();
        Object[] got = new Object[1];
        await(what).atMost(timeout).pollInterval(Duration.ofSeconds(2)).until(() -> {
            List<Incident> incidents = engine.getRuntimeService().createIncidentQuery().list();
            if (!incidents.isEmpty()) {
                Incident i = incidents.get(0);
                fail("incident at " + i.getActivityId() + " while waiting for " + what + ": " + i.getIncidentMessage()
                        + "\n" + management.getJobExceptionStacktrace(i.getConfiguration()));
            }
            got[0] = answer.get();
            return got[0] != null;
        });
        @SuppressWarnings("unchecked") T t = (T) got[0];
        return t;
    }

    <T> T as(String user, Supplier<T> work) {
        IdentityService identity = engine.getIdentityService();
        identity.setAuthentication(user, List.of("operators"));
        try {
            return work.get();
        } finally {
            identity.clearAuthentication();
        }
    }

    /** Every domain this test makes (live VMs, the shut-off one, shadows a failed run left) and its disks. */
    static void removeLabVms() {
        HostCommand.Result list = HostCommand.run(Duration.ofSeconds(60), "virsh", "-q", "-c", "qemu:///system", "list", "--all", "--name");
        list.stdout().lines().map(String::strip).filter(n -> n.startsWith(PREFIX)).forEach(LabVm::delete);
        try (var files = Files.list(new dev.shadowpatch.virt.LibvirtProperties().getImageDir())) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith(PREFIX)).toList()) {
                Files.deleteIfExists(f);
            }
        } catch (java.io.IOException e) {
            System.err.println("removing leftover images: " + e.getMessage());
        }
    }
}
