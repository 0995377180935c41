package dev.shadowpatch.lab;

import static org.assertj.core.api.Assertions.assertThat;

import dev.shadowpatch.disk.DiskProperties;
import dev.shadowpatch.disk.QemuStorageDaemonExposer;
import dev.shadowpatch.guest.ChangeCapture;
import dev.shadowpatch.guest.GuestTarget;
import dev.shadowpatch.guest.JschGuestShell;
import dev.shadowpatch.merge.DetectInfo;
import dev.shadowpatch.merge.MergePlan;
import dev.shadowpatch.merge.Op;
import dev.shadowpatch.merge.Rule;
import dev.shadowpatch.virt.LibvirtHypervisor;
import dev.shadowpatch.virt.PowerOff;
import dev.shadowpatch.virt.ShadowClone;
import dev.shadowpatch.workflow.ImageMerger;
import dev.shadowpatch.workflow.ShadowMerger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 13, point 1 on a real VM: the shadow is not shut down cleanly but destroyed right after its
 * last writes (write + sync, then the hypervisor's force-off, as {@code shutdown} does after its grace
 * period), while the live VM deletes a file after the snapshot. The merge plan, computed by the
 * product's {@link ImageMerger} on the real images, sees the shadow's last writes (its journal is
 * replayed into a throwaway overlay, never skipped) and does not bring the deleted file back. The
 * shadow's change capture is started as the patch step starts it, and its log, left unflushed by the
 * power cut or not, never decides: the scan does.
 */
@Tag("vm")
@Timeout(value = 20, unit = java.util.concurrent.TimeUnit.MINUTES)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ForcedShadowShutdownVmTest {
    static final String VM = "sp-it-forced";
    static final String RUN = "forced1";
    static final Duration BOOT = Duration.ofMinutes(5);
    static final Duration CMD = Duration.ofSeconds(60);

    LabVm lab;
    LibvirtHypervisor hv;
    JschGuestShell shell;
    QemuStorageDaemonExposer disks;
    ShadowClone clone;
    final Map<String, Long> measured = new LinkedHashMap<>();

    @BeforeAll
    void bootLabVm() throws Exception {
        long t0 = System.nanoTime();
        lab = LabVm.fresh(VM);
        measured.put("lab VM create + boot to SSH (ms)", ms(t0));
        hv = new LibvirtHypervisor(LabVm.libvirtProperties());
        shell = new JschGuestShell(lab.guestProperties());
        DiskProperties dp = new DiskProperties();
        dp.setWorkDir(Files.createTempDirectory("sp-disk"));
        disks = new QemuStorageDaemonExposer(dp);
    }

    @AfterAll
    void removeEverything() {
        try {
            LabVm.cleanupAfterFailure(hv, clone);
            if (disks != null) {
                disks.closeAll();
            }
            if (hv != null) {
                hv.close();
            }
        } finally {
            LabVm.delete(VM);
            System.out.println("measured on this host (forced shadow shutdown): " + measured);
        }
    }

    @Test
    void aShadowForcedOffRightAfterItsLastWritesKeepsThemAndALiveDeletionStays() throws Exception {
        GuestTarget live = lab.target();
        // in the base: a file the live VM will delete after the snapshot, written just before it
        shell.check(live, "echo 'the live VM deletes me after the snapshot' > /root/sp-doomed.txt && sync", CMD);
        clone = hv.createShadow(VM, RUN);
        GuestTarget shadow = GuestTarget.direct(hv.waitForAddress(clone.shadowVm(), BOOT), "root").withHostKeyAlias(VM);
        LabVm.awaitSsh(shell, shadow, BOOT);

        ChangeCapture capture = new ChangeCapture(shell);
        long t0 = System.nanoTime();
        assertThat(capture.begin(shadow, Duration.ofSeconds(60))).as("the lab guest captures").isEmpty();
        measured.put("change capture begin: install + watches established (ms)", ms(t0));

        shell.check(live, "rm /root/sp-doomed.txt && sync", CMD);
        // the patch's last writes, flushed by sync, then the power cut: no unmount, journal not checkpointed
        shell.check(shadow, "mkdir -p /opt/sp-patch && echo 'last write before the power cut' > /opt/sp-patch/last.txt"
                + " && echo 'sp patched' >> /etc/issue && sync", CMD);
        t0 = System.nanoTime();
        assertThat(hv.shutdown(clone.shadowVm(), Duration.ZERO)).as("destroyed, not shut down").isEqualTo(PowerOff.FORCED);
        measured.put("shadow forced off (ms)", ms(t0));
        assertThat(hv.isRunning(clone.shadowVm())).isFalse();
        assertThat(hv.isRunning(VM)).as("the live VM serves on").isTrue();

        t0 = System.nanoTime();
        ShadowMerger.PlanResult result = new ImageMerger(disks, "").plan(clone, null);
        measured.put("merge plan on the real images, live VM running (ms)", ms(t0));
        MergePlan plan = MergePlan.fromJson(new String(result.planJson(), StandardCharsets.UTF_8));

        Op last = plan.op("opt/sp-patch/last.txt");
        assertThat(last).as("the shadow's last write, seen through its replayed journal").isNotNull();
        assertThat(last.rule()).isEqualTo(Rule.TAKE_SHADOW_CREATE);
        assertThat(last.action()).isEqualTo(Op.Action.WRITE);
        Op issue = plan.op("etc/issue");
        assertThat(issue).isNotNull();
        assertThat(issue.rule()).isEqualTo(Rule.TAKE_SHADOW_REPLACE);

        Op doomed = plan.op("root/sp-doomed.txt");
        assertThat(doomed == null || doomed.action() == Op.Action.NONE)
                .as("the file the live VM deleted is not brought back: %s", doomed).isTrue();
        assertThat(result.unresolvedPaths()).isEmpty();

        DetectInfo detect = plan.detect();
        System.out.println("change log read from the shadow's tree: " + detect.logPaths() + " paths, missed by it: "
                + detect.logMissed().size() + " " + detect.logMissed().stream().limit(20).toList()
                + ", detect " + detect.detectMillis() + " ms, plan " + detect.planMillis() + " ms");
        measured.put("change log paths (-1: no log)", detect.logPaths());
        measured.put("changed paths the log missed", (long) detect.logMissed().size());
        measured.put("detect (ms)", detect.detectMillis());
        assertThat(detect.fullScan()).as("the scan is the authority").isTrue();
    }

    private static long ms(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }
}
