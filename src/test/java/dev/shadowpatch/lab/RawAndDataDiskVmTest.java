package dev.shadowpatch.lab;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shadowpatch.disk.DiskExposer.Access;
import dev.shadowpatch.disk.DiskProperties;
import dev.shadowpatch.disk.MountedImage;
import dev.shadowpatch.disk.QemuStorageDaemonExposer;
import dev.shadowpatch.guest.GuestTarget;
import dev.shadowpatch.guest.JschGuestShell;
import dev.shadowpatch.virt.DomainXml;
import dev.shadowpatch.virt.HostCommand;
import dev.shadowpatch.virt.LibvirtHypervisor;
import dev.shadowpatch.virt.LibvirtProperties;
import dev.shadowpatch.virt.ShadowClone;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
 * A VM booted from its own raw disk with its data on a second, qcow2 disk (issue 14, points 2 and 6):
 * the {@code two-disks} lab layout (GRUB on {@code vda}, {@code /srv} on {@code vdb}) with {@code vda}
 * converted with {@code qemu-img convert -O raw}. One atomic snapshot of both disks (qcow2 live deltas,
 * on the raw base backing format raw), the shadow booted on a shadow delta of each, the raw base read
 * with the raw driver, a merge overlay on the boot disk only (the data disk keeps its live delta),
 * switch, a rollback that also removes an overlay a killed attempt left unrecorded, and a cleanup
 * that flattens both disks while the VM runs; steps in order on one VM.
 */
@Tag("vm")
@Timeout(value = 25, unit = java.util.concurrent.TimeUnit.MINUTES)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RawAndDataDiskVmTest {
    static final String VM = "sp-raw-disk";
    static final String RUN = "raw1";
    static final Duration BOOT = Duration.ofMinutes(5);
    static final Duration CMD = Duration.ofSeconds(60);
    static final ObjectMapper JSON = new ObjectMapper();

    LabVm lab;
    LibvirtProperties lp;
    LibvirtHypervisor hv;
    JschGuestShell shell;
    QemuStorageDaemonExposer disks;
    Path raw;
    Path data;
    Path shared;
    Path hostDir;
    ShadowClone clone;

    @BeforeAll
    void labVmOnARawDisk() throws Exception {
        lab = LabVm.fresh(VM, "--layout", "two-disks");
        lp = LabVm.libvirtProperties();
        hv = new LibvirtHypervisor(lp);
        shell = new JschGuestShell(lab.guestProperties());
        DiskProperties dp = new DiskProperties();
        dp.setWorkDir(Files.createTempDirectory("sp-raw-disk"));
        disks = new QemuStorageDaemonExposer(dp);

        shell.check(lab.target(), "echo before-snapshot > /root/sp-marker && echo before-snapshot > /srv/sp-data-marker && sync", CMD);
        hv.shutdown(VM, Duration.ofSeconds(90));
        Path qcow2 = Path.of(hv.diskSource(VM, "vda", true));
        data = Path.of(hv.diskSource(VM, "vdb", true));
        raw = qcow2.resolveSibling(VM + ".raw");
        HostCommand.run(Duration.ofMinutes(10), "qemu-img", "convert", "-f", "qcow2", "-O", "raw", qcow2.toString(), raw.toString())
                .orThrow("convert the lab disk to raw");
        String xml = sharing(asRaw(LabVm.virsh(hv.uri(), "dumpxml", "--inactive", VM), qcow2, raw));
        Path def = Files.createTempFile(VM, ".xml");
        Files.writeString(def, xml);
        LabVm.virsh(hv.uri(), "define", def.toString());
        Files.delete(def);
        Files.delete(qcow2);
        hv.start(VM);
        LabVm.awaitSsh(shell, live(), BOOT);
    }

    /** The boot disk's driver and source as raw; the data disk's untouched. */
    private static String asRaw(String xml, Path qcow2, Path raw) {
        int at = xml.indexOf("'" + qcow2 + "'");
        int disk = xml.lastIndexOf("<disk", at);
        int end = xml.indexOf("</disk>", at);
        String vda = xml.substring(disk, end).replace("type='qcow2'", "type='raw'").replace(qcow2.toString(), raw.toString());
        return xml.substring(0, disk) + vda + xml.substring(end);
    }

    /**
     * What the live VM shares (issue 14, point 4): a shareable raw disk another VM could use and a
     * host directory over 9p (a {@code <filesystem>} device, as virtiofs is). Its shadow must get neither.
     */
    private String sharing(String xml) throws Exception {
        shared = raw.resolveSibling(VM + "-shared.img");
        HostCommand.run(CMD, "qemu-img", "create", "-q", "-f", "raw", shared.toString(), "16M").orThrow("shared disk");
        hostDir = Files.createTempDirectory("sp-raw-disk-share");
        Files.setPosixFilePermissions(hostDir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx")); // QEMU's user reads it
        return xml.replace("</devices>", "<disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/>"
                + "<source file='" + shared + "'/><target dev='vdc' bus='virtio'/><shareable/></disk>"
                + "<filesystem type='mount' accessmode='mapped'><source dir='" + hostDir + "'/><target dir='hostshare'/></filesystem>"
                + "</devices>");
    }

    @AfterAll
    void removeEverything() throws Exception {
        try {
            LabVm.removeAll(VM, hv, clone, disks);
        } finally {
            for (Path p : new Path[] {raw, shared, hostDir}) {
                if (p != null) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    @Test
    @Order(1)
    void aRawBootDiskAndAQcow2DataDiskArePatchable() {
        DomainXml.Disk disk = DomainXml.patchDisk(LabVm.virsh(hv.uri(), "dumpxml", VM), null);
        assertThat(disk.format()).isEqualTo("raw");
        assertThat(disk.source()).isEqualTo(raw.toString());
        assertThat(hv.checkPatchable(VM)).isEmpty();
        assertThat(hv.snapshotDisks(VM).keySet()).as("its own disks; the shareable one is not its own").containsExactly("vda", "vdb");
        assertThat(hv.sharedDevices(VM)).containsExactly("disk vdc is shareable (another VM may use it)",
                "a host directory shared into the VM (virtiofs/9p): hostshare");
    }

    @Test
    @Order(2)
    void theSnapshotPutsQcow2OverlaysWithBackingFormatRawOnTheRawBase() throws Exception {
        clone = hv.createShadow(VM, RUN);
        assertThat(clone.baseImage()).isEqualTo(raw);
        assertThat(clone.baseFormat()).isEqualTo("raw");
        assertThat(clone.targets()).containsExactly("vda", "vdb");
        ShadowClone.Disk vdb = clone.disk("vdb").orElseThrow();
        assertThat(vdb.baseImage()).isEqualTo(data);
        assertThat(vdb.baseFormat()).isEqualTo("qcow2");
        for (ShadowClone.Disk disk : clone.disks()) {
            for (Path overlay : new Path[] {disk.liveDelta(), disk.shadowDelta()}) {
                JsonNode info = info(overlay);
                assertThat(info.path("format").asText()).as(overlay.toString()).isEqualTo("qcow2");
                assertThat(info.path("backing-filename").asText()).isEqualTo(disk.baseImage().toString());
                assertThat(info.path("backing-filename-format").asText()).as("backing format of " + overlay).isEqualTo(disk.baseFormat());
            }
            assertThat(hv.diskSource(VM, disk.target(), false)).isEqualTo(disk.liveDelta().toString());
        }
        assertThat(ShadowClone.fromJson(clone.toJson())).as("the formats travel with the run").isEqualTo(clone);
        String shadowXml = LabVm.virsh(hv.uri(), "dumpxml", "--inactive", clone.shadowVm());
        assertThat(shadowXml).as("the shadow gets neither the shareable disk nor the host directory")
                .doesNotContain(shared.toString()).doesNotContain("<filesystem").doesNotContain(hostDir.toString());
        assertThat(hv.record(RUN).orElseThrow().droppedDevices).hasSize(2);
        assertThat(LabVm.virsh(hv.uri(), "dumpxml", VM)).as("the live VM keeps both").contains(shared.toString(), "hostshare");
        shell.check(live(), "echo after-snapshot > /root/sp-live-only && echo after-snapshot > /srv/sp-live-data && sync", CMD);
    }

    @Test
    @Order(3)
    void theShadowBootsOnTheRawBaseAndIsPatched() {
        String ip = hv.waitForAddress(clone.shadowVm(), BOOT);
        GuestTarget shadow = GuestTarget.direct(ip, "root").withHostKeyAlias(VM);
        LabVm.awaitSsh(shell, shadow, BOOT);
        assertThat(shell.check(shadow, "cat /root/sp-marker", CMD).stdout().strip()).isEqualTo("before-snapshot");
        assertThat(shell.check(shadow, "cat /srv/sp-data-marker", CMD).stdout().strip()).as("the data disk at the snapshot")
                .isEqualTo("before-snapshot");
        assertThat(shell.run(shadow, "test -e /root/sp-live-only", CMD).succeeded()).as("the shadow never sees the live delta").isFalse();
        assertThat(shell.run(shadow, "test -e /srv/sp-live-data", CMD).succeeded()).as("nor the data disk's").isFalse();
        shell.check(shadow, "echo patched > /root/sp-patched && echo shadow > /srv/sp-shadow-data && sync", CMD);
        hv.shutdown(clone.shadowVm(), Duration.ofSeconds(90));
    }

    @Test
    @Order(4)
    void theRawBaseIsReadWithTheRawDriverAndTheShadowDeltaOnTopOfIt() throws Exception {
        try (MountedImage base = disks.expose(clone.baseImage(), clone.baseFormat(), Access.READ_ONLY);
             MountedImage shadow = disks.expose(clone.shadowDelta(), Access.READ_ONLY)) {
            assertThat(Files.readString(base.root().resolve("root/sp-marker")).strip()).isEqualTo("before-snapshot");
            assertThat(base.root().resolve("root/sp-patched")).doesNotExist();
            assertThat(Files.readString(shadow.root().resolve("root/sp-patched")).strip()).isEqualTo("patched");
        }
        assertThat(Files.exists(clone.baseImage())).isTrue();
    }

    @Test
    @Order(5)
    void aMergeOverlayOnTheBootDiskOnlySwitchAndRollback() throws Exception {
        hv.shutdown(VM, Duration.ofSeconds(90));
        clone = hv.createMergeOverlay(clone, java.util.Set.of("vda"));
        assertThat(clone.mergedDisks()).extracting(ShadowClone.Disk::target).containsExactly("vda");
        try (MountedImage merge = disks.expose(clone.mergeOverlay(), Access.READ_WRITE)) {
            Files.writeString(merge.root().resolve("root/sp-merged"), "merged\n");
        }
        hv.switchToMergeOverlay(clone);
        assertThat(hv.diskSource(VM, "vda", true)).isEqualTo(clone.mergeOverlay().toString());
        assertThat(hv.diskSource(VM, "vdb", true)).as("the data disk keeps its live delta")
                .isEqualTo(clone.disk("vdb").orElseThrow().liveDelta().toString());
        hv.start(VM);
        LabVm.awaitSsh(shell, live(), BOOT);
        assertThat(shell.check(live(), "cat /root/sp-merged /root/sp-live-only /srv/sp-live-data", CMD).stdout())
                .contains("merged", "after-snapshot");
        assertThat(shell.run(live(), "test -e /srv/sp-shadow-data", CMD).succeeded()).as("nothing merged into the data disk").isFalse();

        // an overlay of the data disk that a killed attempt made but never recorded: the rollback removes it too
        Path unrecorded = clone.mergeOverlay().resolveSibling(VM + "-" + RUN + "-vdb-merge.qcow2");
        HostCommand.run(CMD, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                clone.disk("vdb").orElseThrow().liveDelta().toString(), unrecorded.toString()).orThrow("leftover overlay");
        Path bootOverlay = clone.mergeOverlay();
        hv.rollback(clone);
        clone = clone.withoutMergeOverlays();
        assertThat(bootOverlay).doesNotExist();
        assertThat(unrecorded).doesNotExist();
        for (ShadowClone.Disk disk : clone.disks()) {
            assertThat(hv.diskSource(VM, disk.target(), true)).isEqualTo(disk.liveDelta().toString());
        }
        hv.start(VM);
        LabVm.awaitSsh(shell, live(), BOOT);
        assertThat(shell.run(live(), "test -e /root/sp-merged", CMD).succeeded()).as("rolled back: the merge is gone").isFalse();
        assertThat(shell.check(live(), "cat /root/sp-live-only /srv/sp-live-data", CMD).stdout()).contains("after-snapshot");
    }

    @Test
    @Order(6)
    void cleanupLeavesBothDisksStandaloneAndRemovesTheirBases() throws Exception {
        hv.cleanup(clone);
        for (ShadowClone.Disk disk : clone.disks()) {
            String top = hv.diskSource(VM, disk.target(), false);
            assertThat(top).isEqualTo(disk.liveDelta().toString());
            JsonNode info = info(Path.of(top));
            assertThat(info.path("format").asText()).isEqualTo("qcow2");
            assertThat(info.has("backing-filename")).as("flattened: no backing file under " + disk.target()).isFalse();
            assertThat(disk.shadowDelta()).doesNotExist();
        }
        assertThat(data).as("the data disk's base is removed once nothing uses it").doesNotExist();
        assertThat(DomainXml.patchDisk(LabVm.virsh(hv.uri(), "dumpxml", "--inactive", VM), null).format()).isEqualTo("qcow2");
        assertThat(raw).as("the raw base is removed once nothing uses it").doesNotExist();
        assertThat(LabVm.virsh(hv.uri(), "list", "--all", "--name")).doesNotContain(clone.shadowVm());
        assertThat(shell.check(live(), "cat /root/sp-marker /root/sp-live-only /srv/sp-data-marker /srv/sp-live-data", CMD).stdout())
                .contains("before-snapshot", "after-snapshot");
        assertThat(hv.checkPatchable(VM)).as("patchable again, now as qcow2").isEmpty();
    }

    private GuestTarget live() {
        return GuestTarget.direct(hv.waitForAddress(VM, BOOT), "root").withHostKeyAlias(VM);
    }

    private static JsonNode info(Path image) throws Exception {
        return JSON.readTree(HostCommand.run(Duration.ofSeconds(30), "qemu-img", "info", "-U", "-f", "qcow2", "--output=json",
                image.toString()).orThrow("qemu-img info " + image).stdout());
    }
}
