package dev.shadowpatch.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shadowpatch.disk.DiskExposer.Access;
import dev.shadowpatch.disk.DiskProperties;
import dev.shadowpatch.disk.MountedImage;
import dev.shadowpatch.disk.QemuStorageDaemonExposer;
import dev.shadowpatch.guest.ChangeCapture;
import dev.shadowpatch.guest.ChangeLog;
import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.guest.GuestException;
import dev.shadowpatch.guest.GuestProperties;
import dev.shadowpatch.guest.GuestTarget;
import dev.shadowpatch.guest.JschGuestShell;
import dev.shadowpatch.virt.DomainXml;
import dev.shadowpatch.virt.HostCommand;
import dev.shadowpatch.virt.HypervisorException;
import dev.shadowpatch.virt.LibvirtHypervisor;
import dev.shadowpatch.virt.LibvirtProperties;
import dev.shadowpatch.virt.PowerOff;
import dev.shadowpatch.virt.ShadowClone;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The whole hypervisor/guest/disk life of one patch run on a real lab VM under local libvirtd (TCG):
 * snapshot while a writer runs, shadow on the isolated network, SSH with pinned keys, change
 * capture, mounts of base / shadow delta / merge overlay, switch, rollback, cleanup. The steps build
 * on each other, so they run in order on one VM (one boot of each VM keeps this within minutes).
 */
@Tag("vm")
@Timeout(value = 25, unit = java.util.concurrent.TimeUnit.MINUTES)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ShadowLifecycleVmTest {
    static final String VM = "sp-it-virt";
    static final String RUN = "it1";
    static final Duration BOOT = Duration.ofMinutes(5);
    static final Duration CMD = Duration.ofSeconds(60);

    LabVm lab;
    LibvirtProperties lp;
    LibvirtHypervisor hv;
    JschGuestShell shell;
    QemuStorageDaemonExposer disks;
    Path diskWork;
    ShadowClone clone;
    GuestTarget live;
    GuestTarget shadow;
    long writerLines;
    String liveDeltaHash;
    final Map<String, Long> measured = new LinkedHashMap<>();

    @BeforeAll
    void bootLabVm() throws Exception {
        long t0 = System.nanoTime();
        lab = LabVm.fresh(VM);
        measured.put("lab VM create + boot to SSH (ms)", ms(t0));
        lp = LabVm.libvirtProperties();
        hv = new LibvirtHypervisor(lp);
        shell = new JschGuestShell(lab.guestProperties());
        diskWork = Files.createTempDirectory("sp-disk");
        DiskProperties dp = new DiskProperties();
        dp.setWorkDir(diskWork);
        disks = new QemuStorageDaemonExposer(dp);
        live = lab.target();
    }

    @AfterAll
    void removeEverything() {
        try {
            LabVm.cleanupAfterFailure(hv, clone);
            if (disks != null) { // null when the lab VM never booted
                disks.closeAll();
            }
            if (hv != null) {
                hv.close();
            }
        } finally {
            LabVm.delete(VM);
            System.out.println("measured on this host: " + measured);
            try {
                Files.createDirectories(Path.of("target"));
                StringBuilder b = new StringBuilder();
                measured.forEach((k, v) -> b.append(k).append('\t').append(v).append('\n'));
                Files.writeString(Path.of("target/vm-measurements.txt"), b.toString());
            } catch (java.io.IOException e) {
                System.err.println("cannot write target/vm-measurements.txt: " + e);
            }
        }
    }

    @Test
    @Order(1)
    void sshWithPinnedHostKeyWorksAndUnknownKeysAreRefused() throws Exception {
        assertThat(shell.check(live, "hostname", CMD).stdout().strip()).isEqualTo("splab");

        Path empty = Files.createTempFile("known_hosts", "");
        GuestProperties unpinned = lab.guestProperties();
        unpinned.setKnownHosts(empty);
        assertThatThrownBy(() -> new JschGuestShell(unpinned).run(live, "true", CMD))
                .isInstanceOf(GuestException.class)
                .hasMessageContaining("root@" + lab.address() + ":22")
                .hasMessageContaining("not pinned in " + empty);

        Path other = Files.createTempFile("known_hosts", "");
        Path otherKey = Files.createTempDirectory("k").resolve("k");
        HostCommand.run(CMD, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", otherKey.toString()).orThrow("ssh-keygen");
        String[] pub = Files.readString(Path.of(otherKey + ".pub")).split(" ");
        Files.writeString(other, VM + " " + pub[0] + " " + pub[1] + "\n");
        GuestProperties wrong = lab.guestProperties();
        wrong.setKnownHosts(other);
        assertThatThrownBy(() -> new JschGuestShell(wrong).run(live, "true", CMD))
                .isInstanceOf(GuestException.class)
                .hasMessageContaining("refused");
    }

    @Test
    @Order(2)
    void commandsHaveExitCodesOutputFilesAndDeadlines() throws Exception {
        CommandResult r = shell.run(live, "echo out; echo err >&2; exit 3", CMD);
        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.stdout()).isEqualTo("out\n");
        assertThat(r.stderr()).isEqualTo("err\n");

        Path up = Files.createTempFile("up", ".txt");
        Files.writeString(up, "uploaded 'quoted' content\n");
        shell.upload(live, up, "/root/up.txt");
        Path down = Files.createTempFile("down", ".txt");
        shell.download(live, "/root/up.txt", down);
        assertThat(Files.readString(down)).isEqualTo("uploaded 'quoted' content\n");

        long t0 = System.nanoTime();
        assertThatThrownBy(() -> shell.run(live, "sleep 300", Duration.ofSeconds(2)))
                .isInstanceOf(GuestException.class).hasMessageContaining("timed out after 2 s");
        assertThat(ms(t0)).isLessThan(10_000);
        Thread.sleep(8000); // the remote deadline (2 s + 2 s, then KILL after 5 s) ends the command in the guest too
        assertThat(shell.run(live, "pgrep -x sleep || true", CMD).stdout()).isBlank();
    }

    @Test
    @Order(2)
    void aGuestIsReachableThroughAJumpHostWithBothHostKeysPinned() throws Exception {
        // Jump through the live VM to its own sshd on 127.0.0.1: the jump host is checked under its
        // address, the target under its alias, both against pinned keys.
        String hostKey = Files.readAllLines(lab.knownHosts()).stream().filter(l -> l.startsWith(VM + " ")).findFirst()
                .orElseThrow().substring(VM.length() + 1);
        Path pinned = Files.createTempFile("known_hosts", "");
        Files.writeString(pinned, lab.address() + " " + hostKey + "\n" + VM + " " + hostKey + "\n");
        GuestProperties p = lab.guestProperties();
        p.setKnownHosts(pinned);
        GuestTarget viaJump = new GuestTarget("127.0.0.1", 22, "root", "root@" + lab.address() + ":22", VM);
        assertThat(new JschGuestShell(p).check(viaJump, "hostname", CMD).stdout().strip()).isEqualTo("splab");
    }

    @Test
    @Order(3)
    void snapshotWhileAWriterRunsLosesNothing() throws Exception {
        shell.check(live, "rm -f /root/writer.log; setsid nohup sh -c 'i=0; while [ $i -lt 1000000 ]; do i=$((i+1)); "
                + "echo $i >> /root/writer.log; sleep 0.01; done' >/dev/null 2>&1 < /dev/null & echo $! > /root/writer.pid", CMD);
        Thread.sleep(3000);
        long before = lines(live);
        // First attempt fails after the snapshot (its isolated network cannot be made): nothing of
        // the shadow is left, the live VM runs on, and the retry resumes without a second snapshot.
        LibvirtProperties broken = new LibvirtProperties();
        broken.setStateDir(lp.getStateDir());
        broken.setShadowNetwork("no/such/network");
        try (LibvirtHypervisor failing = new LibvirtHypervisor(broken)) {
            assertThatThrownBy(() -> failing.createShadow(VM, RUN))
                    .isInstanceOf(HypervisorException.class)
                    .hasMessageContaining("shadow of VM " + VM + " (run " + RUN + ") on qemu:///system failed")
                    .hasMessageContaining("no/such/network")
                    .hasMessageContaining("the live VM keeps running on");
        }
        ShadowClone recorded = hv.find(RUN).orElseThrow();
        assertThat(hv.exists(recorded.shadowVm())).isFalse();
        assertThat(recorded.shadowDelta()).doesNotExist();
        assertThat(hv.isRunning(VM)).isTrue();
        assertThat(hv.diskSource(VM, "vda", false)).isEqualTo(recorded.liveDelta().toString());
        long t0 = System.nanoTime();
        clone = hv.createShadow(VM, RUN);
        measured.put("createShadow resumed after the failure: overlay + define + start (ms)", ms(t0));
        assertThat(clone.liveDelta()).isEqualTo(recorded.liveDelta());
        Thread.sleep(3000);
        shell.check(live, "kill $(cat /root/writer.pid); sync", CMD);
        writerLines = lines(live);
        assertThat(writerLines).isGreaterThan(before);
        assertThat(shell.check(live, "tail -n 1 /root/writer.log", CMD).stdout().strip()).isEqualTo(Long.toString(writerLines));

        assertThat(hv.isRunning(VM)).isTrue();
        assertThat(hv.diskSource(VM, "vda", false)).isEqualTo(clone.liveDelta().toString());
        assertThat(clone.baseImage()).isEqualTo(Path.of("/var/lib/libvirt/images/shadowpatch/" + VM + ".qcow2"));
        assertThat(hv.record(RUN).orElseThrow().snapshotAt).isNotNull();
        System.out.println("snapshot quiesced: " + hv.record(RUN).orElseThrow().quiesced);
        // retried after a restart: the same clone, nothing made twice
        LibvirtProperties again = new LibvirtProperties();
        again.setStateDir(lp.getStateDir());
        try (LibvirtHypervisor restarted = new LibvirtHypervisor(again)) {
            assertThat(restarted.createShadow(VM, RUN)).isEqualTo(clone);
        }
    }

    @Test
    @Order(4)
    void shadowBootsWithADifferentMacAndAddressOnTheIsolatedNetwork() {
        long t0 = System.nanoTime();
        String ip = hv.waitForAddress(clone.shadowVm(), BOOT);
        shadow = GuestTarget.direct(ip, "root").withHostKeyAlias(VM); // a clone presents the live VM's host key
        LabVm.awaitSsh(shell, shadow, BOOT);
        measured.put("shadow boot to SSH after createShadow (ms)", ms(t0));
        assertThat(ip).startsWith("192.168.150.").isNotEqualTo(lab.address());
        String liveXml = LabVm.virsh(hv.uri(), "dumpxml", VM);
        String shadowXml = LabVm.virsh(hv.uri(), "dumpxml", clone.shadowVm());
        assertThat(DomainXml.macAddresses(shadowXml)).hasSize(1).doesNotContainAnyElementsOf(DomainXml.macAddresses(liveXml));
        assertThat(shadowXml).contains("network='shadowpatch-isolated'");
        assertThat(shell.check(shadow, "hostname; ip -4 -o addr show scope global", CMD).stdout()).contains("splab", ip);
        // the shadow cannot reach the live VM's network
        assertThat(shell.run(shadow, "timeout 3 bash -c '</dev/tcp/" + lab.address() + "/22'", CMD).succeeded()).isFalse();
    }

    @Test
    @Order(5)
    void theRunningLiveVmsDiskCanBeViewedWithoutTouchingIt() throws Exception {
        // the image stays opened read-only (shared); the journal replays into a throwaway overlay
        try (MountedImage view = timedExpose(clone.liveDelta(), Access.SNAPSHOT_OF_RUNNING, "mount running live delta (snapshot view) (ms)")) {
            List<String> log = Files.readAllLines(view.root().resolve("root/writer.log"));
            assertThat(log).isNotEmpty();
            assertThat(log.get(0)).isEqualTo("1");
        }
        assertThat(hv.isRunning(VM)).isTrue();
        assertThat(shell.check(live, "hostname", CMD).stdout().strip()).isEqualTo("splab");
        assertThat(Files.list(diskWork).toList()).isEmpty();
    }

    @Test
    @Order(6)
    void patchInTheShadowIsCapturedByTheChangeLog() {
        ChangeCapture capture = new ChangeCapture(shell);
        long t1 = System.nanoTime();
        assertThat(capture.begin(shadow, Duration.ofSeconds(60))).as("the lab guest can capture").isEmpty();
        measured.put("change capture install + start to watches established (ms)", ms(t1));
        shell.check(shadow, "echo patched-by-shadow > /etc/sp-patched && echo '<h1>patched</h1>' > /var/www/html/index.html"
                + " && echo tmp > /tmp/ignored && sync", CMD);
        sleepQuietly(1000);
        // a retried or taken-over patch step begins again: the running capture and its log stay
        assertThat(capture.begin(shadow, Duration.ofSeconds(60))).isEmpty();
        assertThat(capture.capturing(shadow)).isTrue();
        capture.stop(shadow);
        assertThat(capture.capturing(shadow)).isFalse();
        ChangeLog log = capture.fetch(shadow);
        assertThat(log.paths()).contains("/etc/sp-patched", "/var/www/html/index.html").doesNotContain("/tmp/ignored");
        long t0 = System.nanoTime();
        assertThat(hv.shutdown(clone.shadowVm(), Duration.ofSeconds(90))).isEqualTo(PowerOff.CLEAN);
        measured.put("shadow graceful shutdown (ms)", ms(t0));
    }

    @Test
    @Order(7)
    void baseShadowDeltaAndLiveDeltaMountOnTheHost() throws Exception {
        long t0 = System.nanoTime();
        hv.shutdown(VM, Duration.ofSeconds(90));
        measured.put("live graceful shutdown (ms)", ms(t0));
        try (MountedImage base = timedExpose(clone.baseImage(), "mount base ro (ms)");
             MountedImage sh = disks.expose(clone.shadowDelta(), Access.READ_ONLY);
             MountedImage lv = disks.expose(clone.liveDelta(), Access.READ_ONLY)) {
            assertThat(base.root().resolve("etc/sp-patched")).doesNotExist();
            assertThat(Files.readString(sh.root().resolve("etc/sp-patched"))).isEqualTo("patched-by-shadow\n");
            assertThat(lv.root().resolve("etc/sp-patched")).doesNotExist();
            List<String> liveLog = Files.readAllLines(lv.root().resolve("root/writer.log"));
            assertThat(liveLog).hasSize((int) writerLines);
            assertContiguous(liveLog);
            List<String> shadowLog = Files.readAllLines(sh.root().resolve("root/writer.log"));
            assertThat(shadowLog).isNotEmpty().hasSizeLessThanOrEqualTo(liveLog.size());
            assertContiguous(shadowLog);
        }
        assertThat(Files.list(diskWork).toList()).isEmpty();
    }

    @Test
    @Order(8)
    void rollbackRestoresTheExactPreviousDisk() throws Exception {
        liveDeltaHash = sha256(clone.liveDelta());
        clone = hv.createMergeOverlay(clone, clone.targets());
        Path overlay = clone.mergeOverlay();
        assertThat(overlay).exists();
        try (MountedImage merge = disks.expose(overlay, Access.READ_WRITE)) {
            Files.writeString(merge.root().resolve("etc/sp-failed-merge"), "half a merge\n");
        }
        hv.switchToMergeOverlay(clone);
        assertThat(hv.diskSource(VM, "vda", true)).isEqualTo(overlay.toString());
        hv.rollback(clone);
        hv.rollback(clone); // idempotent
        assertThat(hv.isRunning(VM)).isFalse();
        assertThat(hv.diskSource(VM, "vda", true)).isEqualTo(clone.liveDelta().toString());
        assertThat(overlay).doesNotExist();
        assertThat(sha256(clone.liveDelta())).isEqualTo(liveDeltaHash);
        clone = hv.find(RUN).orElseThrow();
        assertThat(clone.mergeOverlay()).isNull();
    }

    @Test
    @Order(9)
    void mergeOverlayTakesTheChangeAndTheLiveVmBootsOnIt() throws Exception {
        clone = hv.createMergeOverlay(clone, clone.targets());
        try (MountedImage merge = disks.expose(clone.mergeOverlay(), Access.READ_WRITE)) {
            Files.writeString(merge.root().resolve("etc/sp-killed-merge"), "an attempt killed halfway\n");
        }
        clone = hv.createMergeOverlay(clone, clone.targets()); // the retry of a killed merge attempt
        assertThat(clone.mergeOverlay()).exists();
        try (MountedImage sh = disks.expose(clone.shadowDelta(), Access.READ_ONLY);
             MountedImage merge = timedExpose(clone.mergeOverlay(), Access.READ_WRITE, "mount merge overlay rw (ms)")) {
            assertThat(merge.root().resolve("etc/sp-failed-merge")).as("the rolled-back merge left nothing").doesNotExist();
            assertThat(merge.root().resolve("etc/sp-killed-merge")).as("a retried merge starts on a fresh overlay").doesNotExist();
            Files.copy(sh.root().resolve("etc/sp-patched"), merge.root().resolve("etc/sp-patched"));
        }
        hv.switchToMergeOverlay(clone);
        hv.switchToMergeOverlay(clone); // idempotent
        long t0 = System.nanoTime();
        hv.start(VM);
        LabVm.awaitSsh(shell, live, BOOT);
        measured.put("live boot to SSH on the merge overlay (ms)", ms(t0));
        assertThat(shell.check(live, "cat /etc/sp-patched", CMD).stdout()).isEqualTo("patched-by-shadow\n");
        assertThat(lines(live)).as("no layer skipped: the live delta's writes are there").isEqualTo(writerLines);
        // the restart step retried after the VM already booted (a node died before committing): nothing changes
        hv.switchToMergeOverlay(clone);
        hv.start(VM);
        assertThat(hv.diskSource(VM, "vda", false)).isEqualTo(clone.mergeOverlay().toString());
    }

    @Test
    @Order(10)
    void cleanupLeavesNoDomainOverlayMountOrDaemonBehind() throws Exception {
        long t0 = System.nanoTime();
        hv.cleanup(clone);
        measured.put("cleanup: remove shadow + blockpull of the running live VM (ms)", ms(t0));
        hv.cleanup(clone); // idempotent
        assertThat(hv.exists(clone.shadowVm())).isFalse();
        assertThat(clone.shadowDelta()).doesNotExist();
        assertThat(clone.liveDelta()).as("flattened into the merge overlay, unreferenced, removed").doesNotExist();
        assertThat(clone.baseImage()).as("flattened, unreferenced base removed").doesNotExist();
        String top = hv.diskSource(VM, "vda", false);
        assertThat(top).isEqualTo(clone.mergeOverlay().toString());
        String info = HostCommand.run(CMD, "qemu-img", "info", "-U", "--output=json", top).orThrow("info").stdout();
        assertThat(info).doesNotContain("backing-filename");
        assertThat(LabVm.virsh(hv.uri(), "dumpxml", "--inactive", VM)).doesNotContain("backingStore");
        assertThat(Files.list(diskWork).toList()).isEmpty();
        assertThat(HostCommand.run(CMD, "pgrep", "-af", "qemu-storage-daemon").stdout()).doesNotContain(diskWork.toString());
        assertThat(shell.check(live, "cat /etc/sp-patched", CMD).stdout()).isEqualTo("patched-by-shadow\n");
        assertThat(lines(live)).isEqualTo(writerLines);
        clone = null;
    }

    @Test
    @Order(11)
    void aGuestThatIgnoresShutdownIsForcedOffAtTheDeadline() {
        // Neither ACPI nor the agent can power it off any more.
        shell.check(live, "systemctl mask --runtime poweroff.target halt.target && systemctl stop qemu-guest-agent", CMD);
        long t0 = System.nanoTime();
        assertThat(hv.shutdown(VM, Duration.ofSeconds(10))).isEqualTo(PowerOff.FORCED);
        long took = ms(t0);
        measured.put("shutdown of a guest ignoring it, 10 s grace, then forced off (ms)", took);
        assertThat(hv.isRunning(VM)).isFalse();
        assertThat(took).isGreaterThanOrEqualTo(10_000);
    }

    // ------------------------------------------------------------------ helpers

    private MountedImage timedExpose(Path image, String label) {
        return timedExpose(image, Access.READ_ONLY, label);
    }

    private MountedImage timedExpose(Path image, Access access, String label) {
        long t0 = System.nanoTime();
        MountedImage m = disks.expose(image, access);
        measured.put(label, ms(t0));
        return m;
    }

    private long lines(GuestTarget t) {
        return Long.parseLong(shell.check(t, "wc -l < /root/writer.log", CMD).stdout().strip());
    }

    private static void assertContiguous(List<String> lines) {
        for (int i = 0; i < lines.size(); i++) {
            assertThat(lines.get(i)).as("line %d", i + 1).isEqualTo(Integer.toString(i + 1));
        }
    }

    private static String sha256(Path p) {
        return HostCommand.run(CMD, "sha256sum", p.toString()).orThrow("sha256sum").stdout().split(" ")[0];
    }

    private static long ms(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
