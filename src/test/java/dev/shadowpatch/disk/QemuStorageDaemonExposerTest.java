package dev.shadowpatch.disk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.shadowpatch.disk.DiskExposer.Access;
import dev.shadowpatch.virt.HostCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real qemu-storage-daemon FUSE exports and loop mounts of small synthetic qcow2 images (needs
 * root, /dev/fuse and loop devices: ops/host-setup). No VM involved.
 */
class QemuStorageDaemonExposerTest {
    private static final Duration T = Duration.ofSeconds(60);

    @TempDir
    Path tmp;
    QemuStorageDaemonExposer exposer;
    Path work;

    @BeforeAll
    static void hostCanMount() {
        GuestImages.assumeHostCanMount();
    }

    @BeforeEach
    void setUp() {
        DiskProperties p = new DiskProperties();
        work = tmp.resolve("work");
        p.setWorkDir(work);
        exposer = new QemuStorageDaemonExposer(p);
    }

    /** A qcow2 image whose ext4 file system holds /etc/motd = "hello". */
    private Path image(String name, boolean partitioned) throws Exception {
        Path src = tmp.resolve(name + "-src/etc");
        Files.createDirectories(src);
        Files.writeString(src.resolve("motd"), "hello\n");
        Path raw = tmp.resolve(name + ".raw");
        if (!partitioned) {
            HostCommand.run(T, "mkfs.ext4", "-q", "-d", src.getParent().toString(), raw.toString(), "64M").orThrow("mkfs");
        } else {
            Path fs = tmp.resolve(name + ".fs");
            HostCommand.run(T, "mkfs.ext4", "-q", "-d", src.getParent().toString(), fs.toString(), "64M").orThrow("mkfs");
            HostCommand.run(T, "truncate", "-s", "80M", raw.toString()).orThrow("truncate");
            HostCommand.run(T, "sh", "-c", "printf 'label: gpt\\nstart=2048, size=16384, type=L\\nstart=18432, type=L\\n' | sfdisk -q "
                    + raw).orThrow("sfdisk");
            HostCommand.run(T, "dd", "if=" + fs, "of=" + raw, "bs=512", "seek=18432", "conv=notrunc", "status=none").orThrow("dd");
        }
        Path qcow2 = tmp.resolve(name + ".qcow2");
        HostCommand.run(T, "qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), qcow2.toString()).orThrow("convert");
        return qcow2;
    }

    @Test
    void readOnlyMountShowsTheFilesAndTeardownLeavesNothing() throws Exception {
        Path img = image("ro", false);
        Path root;
        try (MountedImage m = exposer.expose(img, Access.READ_ONLY)) {
            root = m.root();
            assertThat(Files.readString(root.resolve("etc/motd"))).isEqualTo("hello\n");
            assertThat(mountOptions(root)).contains("ro", "nosuid", "nodev", "noexec");
            assertThatThrownBy(() -> Files.writeString(root.resolve("etc/x"), "x")).isInstanceOf(java.io.IOException.class);
        }
        assertNothingLeft(img);
    }

    /**
     * A raw base (a raw-disk VM's) is read with the raw driver as declared, whatever its first bytes
     * are: here the guest wrote a qcow2 header naming a host file as backing into its boot sector,
     * and the view still shows the guest's own file system, the host file never opened.
     */
    @Test
    void aRawImageIsReadAsDeclaredEvenWhenItsFirstBytesPoseAsQcow2() throws Exception {
        image("rawbase", false);
        Path raw = tmp.resolve("rawbase.raw");
        Path header = tmp.resolve("lure.qcow2");
        HostCommand.run(T, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", "/etc/hostname", header.toString(), "64M")
                .orThrow("qemu-img create");
        HostCommand.run(T, "dd", "if=" + header, "of=" + raw, "bs=512", "count=1", "conv=notrunc", "status=none").orThrow("dd");
        assertThat(dev.shadowpatch.virt.Qcow2.isQcow2(raw)).as("the lure is in place").isTrue();
        byte[] before = Files.readAllBytes(raw);
        try (MountedImage m = exposer.expose(raw, "raw", Access.READ_ONLY)) {
            assertThat(Files.readString(m.root().resolve("etc/motd"))).isEqualTo("hello\n");
        }
        assertThat(Files.readAllBytes(raw)).as("a read-only view leaves the raw image as it was").isEqualTo(before);
        assertNothingLeft(raw);
    }

    @Test
    void aFormatOtherThanQcow2OrRawIsRefused() throws Exception {
        Path img = image("vmdk", false);
        assertThatThrownBy(() -> exposer.expose(img, "vmdk", Access.READ_ONLY))
                .hasMessageContaining("declared vmdk: only qcow2 and raw images are exposed");
    }

    @Test
    void readWriteMountPersistsIntoTheImage() throws Exception {
        Path img = image("rw", false);
        try (MountedImage m = exposer.expose(img, Access.READ_WRITE)) {
            Files.writeString(m.root().resolve("etc/motd"), "patched\n");
        }
        try (MountedImage m = exposer.expose(img, Access.READ_ONLY)) {
            assertThat(Files.readString(m.root().resolve("etc/motd"))).isEqualTo("patched\n");
        }
        assertNothingLeft(img);
    }

    /**
     * A crash-consistent image: a file written and fsync'ed (data in place, the inode and directory
     * entry committed to the ext4 journal) but its metadata not yet checkpointed to its place, the raw
     * image copied while still mounted (what a VM destroyed without a clean shutdown leaves). Returns
     * the qcow2 of the copy.
     */
    private Path dirtyImage(String name) throws Exception {
        Path raw = tmp.resolve(name + ".raw"), copy = tmp.resolve(name + "-copy.raw"), mnt = tmp.resolve(name + "-mnt");
        Files.createDirectories(mnt);
        HostCommand.run(T, "mkfs.ext4", "-q", "-F", raw.toString(), "64M").orThrow("mkfs");
        HostCommand.run(T, "mount", "-o", "loop,commit=1", raw.toString(), mnt.toString()).orThrow("mount");
        try {
            HostCommand.run(T, "sh", "-c", "echo last-write > '" + mnt + "/late' && sync '" + mnt + "/late' && sleep 2 && cp --sparse=always '" + raw + "' '" + copy + "'")
                    .orThrow("write and copy");
        } finally {
            HostCommand.run(T, "umount", mnt.toString()).orThrow("umount");
        }
        assertThat(HostCommand.run(T, "dumpe2fs", "-h", copy.toString()).stdout()).as("the copy's journal needs recovery")
                .contains("needs_recovery");
        // what a mount that does not replay the journal sees (noload): the last write is missing
        HostCommand.run(T, "mount", "-o", "ro,noload,loop", copy.toString(), mnt.toString()).orThrow("mount noload");
        boolean visibleWithoutReplay;
        try {
            visibleWithoutReplay = Files.exists(mnt.resolve("late"));
        } finally {
            HostCommand.run(T, "umount", mnt.toString()).orThrow("umount");
        }
        assertThat(visibleWithoutReplay).as("the last write is only in the journal (else the test proves nothing)").isFalse();
        Path qcow2 = tmp.resolve(name + ".qcow2");
        HostCommand.run(T, "qemu-img", "convert", "-f", "raw", "-O", "qcow2", copy.toString(), qcow2.toString()).orThrow("convert");
        return qcow2;
    }

    @Test
    void readOnlyReplaysADirtyJournalIntoAThrowawayOverlay() throws Exception {
        Path img = dirtyImage("dirty");
        String before = sha256(img);
        try (MountedImage m = exposer.expose(img, Access.READ_ONLY)) {
            assertThat(Files.readString(m.root().resolve("late"))).isEqualTo("last-write\n");
            assertThat(mountOptions(m.root())).contains("ro", "nosuid", "nodev", "noexec");
        }
        assertThat(sha256(img)).as("the replay went into the throwaway overlay, not the image").isEqualTo(before);
        assertNothingLeft(img);
    }

    @Test
    void snapshotOfRunningWritesNothingIntoTheImage() throws Exception {
        Path img = image("snap", false);
        String before = sha256(img);
        try (MountedImage m = exposer.expose(img, Access.SNAPSHOT_OF_RUNNING)) {
            assertThat(Files.readString(m.root().resolve("etc/motd"))).isEqualTo("hello\n");
        }
        assertThat(sha256(img)).isEqualTo(before);
        assertNothingLeft(img);
    }

    @Test
    void partitionedImageMountsTheLinuxRootPartition() throws Exception {
        Path img = image("parted", true);
        try (MountedImage m = exposer.expose(img, Access.READ_ONLY)) {
            assertThat(Files.readString(m.root().resolve("etc/motd"))).isEqualTo("hello\n");
        }
        assertNothingLeft(img);
    }

    @Test
    void notQcow2IsRefusedAndNothingIsMade() throws Exception {
        Path raw = tmp.resolve("plain.raw");
        HostCommand.run(T, "truncate", "-s", "1M", raw.toString()).orThrow("truncate");
        assertThatThrownBy(() -> exposer.expose(raw, Access.READ_ONLY))
                .isInstanceOf(DiskException.class).hasMessageContaining(raw.toString()).hasMessageContaining("not qcow2");
        assertThatThrownBy(() -> exposer.expose(tmp.resolve("missing.qcow2"), Access.READ_ONLY))
                .isInstanceOf(DiskException.class).hasMessageContaining("missing.qcow2").hasMessageContaining("does not exist");
        assertThat(Files.exists(work) ? Files.list(work).toList() : List.of()).isEmpty();
    }

    @Test
    void failureHalfWayTearsDownWhatWasMade() throws Exception {
        // A qcow2 without a file system: the daemon starts, the loop attaches, then the mount must fail.
        Path img = tmp.resolve("empty.qcow2");
        HostCommand.run(T, "qemu-img", "create", "-q", "-f", "qcow2", img.toString(), "16M").orThrow("create");
        assertThatThrownBy(() -> exposer.expose(img, Access.READ_ONLY))
                .isInstanceOf(DiskException.class).hasMessageContaining(img.toString()).hasMessageContaining("no Linux file system");
        assertNothingLeft(img);
    }

    private void assertNothingLeft(Path img) throws Exception {
        GuestImages.assertNothingLeft(work, img);
    }

    private static String mountOptions(Path root) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            if (f[4].equals(root.toString())) {
                return f[5];
            }
        }
        return "";
    }

    private static String sha256(Path p) {
        return HostCommand.run(T, "sha256sum", p.toString()).orThrow("sha256sum").stdout().split(" ")[0];
    }
}
