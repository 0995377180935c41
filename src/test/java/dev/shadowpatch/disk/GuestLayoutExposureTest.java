package dev.shadowpatch.disk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.shadowpatch.disk.DiskExposer.Access;
import dev.shadowpatch.disk.GuestLayout.Volume;
import dev.shadowpatch.virt.HostCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The VM layouts users run, as real qcow2 disks on the host: the Debian installer's "guided, LVM"
 * (a /boot partition, root and swap logical volumes), a UEFI disk (EFI system partition + root),
 * and layouts that must be refused. Each is read through its own /etc/fstab and each file system
 * mounted on its own directory (needs root, /dev/fuse, loop devices and lvm2: ops/host-setup).
 */
class GuestLayoutExposureTest {
    private static final String ROOT_UUID = "11111111-2222-3333-4444-555555555555";
    private static final String BOOT_UUID = "66666666-7777-8888-9999-aaaaaaaaaaaa";
    private static final long MIB = GuestImages.MIB;

    @TempDir
    Path tmp;
    QemuStorageDaemonExposer exposer;
    Path work;
    GuestImages images;

    @BeforeAll
    static void hostCanMount() {
        GuestImages.assumeHostCanMount();
        assumeTrue(HostCommand.run(GuestImages.T, "sh", "-c", "command -v pvcreate").ok(), "needs lvm2 (ops/host-setup)");
    }

    @BeforeEach
    void setUp() {
        DiskProperties p = new DiskProperties();
        work = tmp.resolve("work");
        p.setWorkDir(work);
        exposer = new QemuStorageDaemonExposer(p);
        images = new GuestImages(tmp);
    }

    /** The installer's LVM shape: vda1 /boot (ext4), vda2 a PV of splab-vg with root and swap_1. */
    private Path installerLvmDisk(String fstab, long[][] rootExtents) throws Exception {
        Path root = tree("root", "etc/fstab", fstab, "etc/debian_version", "12.8\n");
        Files.createDirectories(root.resolve("boot"));
        Path boot = tree("boot", "vmlinuz-6.1.0-28-amd64", "old kernel\n", "grub/grub.cfg", "menuentry old\n");
        Path raw = images.partitioned("lvm", 200, "label: dos\nstart=2048, size=65536, type=83\nstart=67584, type=8e\n");
        GuestImages.place(images.fileSystem("boot", "ext4", 32, BOOT_UUID, null, boot), raw, 2048 * 512);
        long pvStart = 67584L * 512, pvSize = 200 * MIB - pvStart;
        long data = GuestImages.volumeGroup(raw, pvStart, pvSize, "splab-vg", new long[][] {rootExtents[0], {20, 4}}, "root", "swap_1");
        GuestImages.place(images.fileSystem("root", "ext4", 64, ROOT_UUID, null, root), raw, data + rootExtents[0][0] * 4 * MIB);
        Path swap = tmp.resolve("swap.fs");
        GuestImages.run("truncate", "-s", "16M", swap.toString());
        GuestImages.run("mkswap", "-q", swap.toString());
        GuestImages.place(swap, raw, data + 20 * 4 * MIB);
        return images.qcow2(raw);
    }

    private static final String INSTALLER_FSTAB = """
            # /etc/fstab: static file system information.
            # <file system> <mount point>   <type>  <options>       <dump>  <pass>
            /dev/mapper/splab--vg-root /               ext4    errors=remount-ro 0       1
            # /boot was on /dev/vda1 during installation
            UUID=66666666-7777-8888-9999-aaaaaaaaaaaa /boot           ext4    defaults        0       2
            /dev/mapper/splab--vg-swap_1 none            swap    sw              0       0
            /dev/sr0        /media/cdrom0   udf,iso9660 user,noauto     0       0
            tmpfs /tmp tmpfs defaults 0 0
            """;

    @Test
    void theDebianInstallersLvmLayoutIsReadFromItsFstabAndEachFileSystemMountedOnItsOwn() throws Exception {
        Path disk = installerLvmDisk(INSTALLER_FSTAB, new long[][] {{0, 16}});

        GuestLayout layout = exposer.readLayout(java.util.Map.of("vda", disk), java.util.Map.of(), Access.READ_ONLY);

        assertThat(layout.fileSystems()).extracting(GuestLayout.FileSystem::mountPoint).containsExactly("/", "/boot");
        assertThat(layout.root().volume()).isEqualTo(new Volume("vda", 2, "splab-vg/root"));
        assertThat(layout.root().uuid()).isEqualTo(ROOT_UUID);
        assertThat(layout.fileSystems().get(1).volume()).isEqualTo(new Volume("vda", 1, null));
        assertThat(layout.setAside()).extracting(GuestLayout.SetAside::mountPoint).containsExactly("none", "/media/cdrom0", "/tmp");
        assertNothingLeft(disk);

        try (MountedDisk m = exposer.exposeFileSystems(disk, "qcow2", Access.READ_WRITE, layout, "vda")) {
            assertThat(m.mountPoints()).containsExactlyInAnyOrder("/", "/boot");
            assertThat(Files.readString(m.root("/").resolve("etc/debian_version"))).isEqualTo("12.8\n");
            assertThat(Files.readString(m.root("/boot").resolve("grub/grub.cfg"))).isEqualTo("menuentry old\n");
            // the root's own /boot directory is the empty mount point, not the /boot file system
            try (var inRootsBoot = Files.list(m.root("/").resolve("boot"))) {
                assertThat(inRootsBoot.toList()).isEmpty();
            }
            Files.writeString(m.root("/boot").resolve("vmlinuz-6.1.0-30-amd64"), "new kernel\n");
        }
        try (MountedDisk m = exposer.exposeFileSystems(disk, "qcow2", Access.READ_ONLY, layout, "vda")) {
            assertThat(Files.readString(m.root("/boot").resolve("vmlinuz-6.1.0-30-amd64"))).isEqualTo("new kernel\n");
        }
        assertNothingLeft(disk);
    }

    /**
     * A shadow whose patch ran grub-install wrote the boot sector: that is named; its writes into
     * /boot and the root (merged) and into swap (paged out) are not.
     */
    @Test
    void whatAShadowWroteOutsideEveryMergedFileSystemIsNamed() throws Exception {
        Path disk = installerLvmDisk(INSTALLER_FSTAB, new long[][] {{0, 16}});
        GuestLayout layout = exposer.readLayout(java.util.Map.of("vda", disk), java.util.Map.of(), Access.READ_ONLY);
        Path delta = tmp.resolve("shadow.qcow2");
        GuestImages.run("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", disk.toString(), delta.toString());
        assertThat(exposer.unmergedWrites(delta, layout, "vda", null)).as("a fresh delta").isEmpty();

        long swapAt = 67584L * 512 + 1024 * 1024 + 20 * 4 * MIB; // PV data start (1 MiB) + swap_1's first extent
        GuestImages.run("qemu-io", "-f", "qcow2", "-c", "write 0 446", "-c", "write " + (2048 * 512 + 4096) + " 8k",
                "-c", "write " + (swapAt + 8192) + " 64k", delta.toString());

        assertThat(exposer.unmergedWrites(delta, layout, "vda", null))
                .containsExactly("64 KiB written in the boot sector and the gap before the first partition (a boot loader's install, e.g. grub-install)");
        assertNothingLeft(delta);
    }

    /**
     * grub-install in the shadow (boot code in the first sector, a core image in the gap before the
     * first partition) reaches the live disk's merge overlay byte for byte; the partition table and the
     * disk signature stay the live disk's; the boot sector is then no longer named as unmerged. A live
     * VM that wrote its own boot loader since the snapshot is never overwritten.
     */
    @Test
    void theShadowsBootLoaderIsCopiedIntoTheMergeOverlayAndNeverOverALiveOne() throws Exception {
        Path disk = installerLvmDisk(INSTALLER_FSTAB, new long[][] {{0, 16}});
        GuestLayout layout = exposer.readLayout(java.util.Map.of("vda", disk), java.util.Map.of(), Access.READ_ONLY);
        Path shadow = overlay(disk, "shadow"), live = overlay(disk, "live");
        // the shadow: new boot code (0xAB, 440 bytes) and a new core image at sector 1 (0xEF, 40 KiB);
        // the live VM writes only its root
        GuestImages.run("qemu-io", "-f", "qcow2", "-c", "write -P 0xab 0 440", "-c", "write -P 0xef 512 40k", shadow.toString());
        GuestImages.run("qemu-io", "-f", "qcow2", "-c", "write -P 0x11 " + (67584L * 512 + 2 * MIB) + " 4k", live.toString());
        byte[] liveSector = read(live, 0, 512);

        BootLoaderArea.Copy copy = exposer.bootLoaderCopy(shadow, live, Access.READ_ONLY, "vda");
        assertThat(copy.carried()).as(copy.describe()).isTrue();
        assertThat(copy.ranges()).extracting(r -> r[0] + "-" + r[1]).containsExactly("0-440", "512-65536");
        assertThat(exposer.unmergedWrites(shadow, layout, "vda", copy)).as("carried over: not named").isEmpty();

        Path merge = overlay(live, "merge");
        exposer.writeBootLoader(shadow, merge, copy);
        byte[] merged = read(merge, 0, 65536);
        assertThat(java.util.Arrays.copyOfRange(merged, 0, 440)).containsOnly((byte) 0xab);
        assertThat(java.util.Arrays.copyOfRange(merged, 440, 512)).as("signature and partition table: the live disk's")
                .isEqualTo(java.util.Arrays.copyOfRange(liveSector, 440, 512));
        assertThat(java.util.Arrays.copyOfRange(merged, 512, 512 + 40 * 1024)).containsOnly((byte) 0xef);
        assertThat(read(merge, 67584L * 512 + 2 * MIB, 4096)).as("the live VM's own write stays").containsOnly((byte) 0x11);
        assertNothingLeft(merge);

        // a live VM that ran grub-install itself after the snapshot: refused, named, nothing copied
        GuestImages.run("qemu-io", "-f", "qcow2", "-c", "write -P 0x22 1024 4k", live.toString());
        BootLoaderArea.Copy refused = exposer.bootLoaderCopy(shadow, live, Access.READ_ONLY, "vda");
        assertThat(refused.carried()).isFalse();
        assertThat(refused.describe()).contains("cannot be carried over: the live VM wrote its own boot loader area since the snapshot");
        assertThatThrownBy(() -> exposer.writeBootLoader(shadow, overlay(live, "merge2"), refused)).isInstanceOf(DiskException.class);
        assertThat(exposer.unmergedWrites(shadow, layout, "vda", refused)).as("named again")
                .containsExactly("64 KiB written in the boot sector and the gap before the first partition (a boot loader's install, e.g. grub-install)");

        // a shadow that changed the disk's signature (part of its partition table): refused
        Path relabelled = overlay(disk, "relabelled");
        GuestImages.run("qemu-io", "-f", "qcow2", "-c", "write -P 0xab 0 446", relabelled.toString());
        assertThat(exposer.bootLoaderCopy(relabelled, overlay(disk, "live2"), Access.READ_ONLY, "vda").describe())
                .contains("cannot be carried over: the shadow's partition table is not the live VM's");
    }

    private Path overlay(Path backing, String name) {
        Path o = tmp.resolve(name + ".qcow2");
        GuestImages.run("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", backing.toString(), o.toString());
        return o;
    }

    /** Bytes of a qcow2 image's guest view, through qemu-img's own reading (not the code under test). */
    private byte[] read(Path image, long offset, int length) throws Exception {
        Path raw = tmp.resolve("read.raw");
        Files.deleteIfExists(raw);
        GuestImages.run("qemu-img", "convert", "-f", "qcow2", "-O", "raw", image.toString(), raw.toString());
        try (var f = new java.io.RandomAccessFile(raw.toFile(), "r")) {
            byte[] b = new byte[length];
            f.seek(offset);
            f.readFully(b);
            return b;
        } finally {
            Files.delete(raw);
        }
    }

    @Test
    void aUefiDiskMountsItsEfiSystemPartitionAndRootByUuid() throws Exception {
        Path root = tree("uroot", "etc/fstab", """
                UUID=11111111-2222-3333-4444-555555555555 / ext4 errors=remount-ro 0 1
                UUID=ABCD-1234 /boot/efi vfat umask=0077 0 1
                """, "boot/efi/.keep", "");
        Path esp = tree("esp", "EFI/debian/grubx64.efi", "grub\n");
        boolean hostMountsVfat = QemuStorageDaemonExposer.hostFileSystems().contains("vfat");
        Path raw = images.partitioned("uefi", 160, "label: gpt\nstart=2048, size=65536, type=U\nstart=67584, type=L\n");
        if (hostMountsVfat) {
            GuestImages.place(images.fileSystem("esp", "vfat", 32, "ABCD-1234", "EFI", esp), raw, 2048 * 512);
        } else { // an empty vfat: its files cannot be put in without mounting it
            GuestImages.run("mkfs.vfat", "-n", "EFI", "-i", "ABCD1234", "--offset", "2048", raw.toString(), Integer.toString(32 * 1024));
        }
        GuestImages.place(images.fileSystem("uroot", "ext4", 64, ROOT_UUID, null, root), raw, 67584L * 512);
        Path disk = images.qcow2(raw);

        GuestLayout layout = exposer.readLayout(java.util.Map.of("vda", disk), java.util.Map.of(), Access.READ_ONLY);

        if (!hostMountsVfat) {
            // this host's kernel has no vfat: the ESP is named as not merged, the root still is
            assertThat(layout.fileSystems()).extracting(f -> f.mountPoint() + " " + f.type() + " " + f.volume().describe())
                    .containsExactly("/ ext4 vda partition 2");
            assertThat(layout.setAside()).singleElement().satisfies(a -> {
                assertThat(a.mountPoint()).isEqualTo("/boot/efi");
                assertThat(a.reason()).contains("cannot mount vfat");
            });
            assertNothingLeft(disk);
            return;
        }
        assertThat(layout.fileSystems()).extracting(f -> f.mountPoint() + " " + f.type() + " " + f.volume().describe())
                .containsExactly("/ ext4 vda partition 2", "/boot/efi vfat vda partition 1");
        try (MountedDisk m = exposer.exposeFileSystems(disk, "qcow2", Access.READ_ONLY, layout, "vda")) {
            assertThat(Files.readString(m.root("/boot/efi").resolve("EFI/debian/grubx64.efi"))).isEqualTo("grub\n");
        }
        assertNothingLeft(disk);
    }

    @Test
    void aFileSystemFstabMountsButTheDiskDoesNotHoldIsRefusedWithItsLine() throws Exception {
        Path disk = installerLvmDisk(INSTALLER_FSTAB + "UUID=99999999-0000-0000-0000-000000000000 /srv ext4 defaults 0 2\n"
                + "UUID=99999999-0000-0000-0000-000000000001 /backup ext4 defaults,nofail 0 2\n", new long[][] {{0, 16}});

        assertThatThrownBy(() -> exposer.readLayout(java.util.Map.of("vda", disk), java.util.Map.of(), Access.READ_ONLY))
                .isInstanceOf(LayoutResolver.LayoutRefusedException.class)
                .hasMessageContaining("/etc/fstab line 9 (UUID=99999999-0000-0000-0000-000000000000 on /srv)")
                .hasMessageContaining("no such file system on the VM's disks")
                .hasMessageNotContaining("/backup");
        assertNothingLeft(disk);
    }

    @Test
    void aFileSystemOnASecondDiskIsFoundThere() throws Exception {
        Path disk = installerLvmDisk(INSTALLER_FSTAB + "LABEL=data /srv ext4 defaults 0 2\n", new long[][] {{0, 16}});
        Path data = tree("data", "www/index.html", "hello\n");
        Path raw = tmp.resolve("data.raw");
        GuestImages.run("mkfs.ext4", "-q", "-L", "data", "-d", data.toString(), raw.toString(), "32M");
        Path second = images.qcow2(raw);

        GuestLayout layout = exposer.readLayout(java.util.Map.of("vda", disk, "vdb", second), java.util.Map.of(), Access.READ_ONLY);

        assertThat(layout.fileSystems()).extracting(f -> f.mountPoint() + "=" + f.volume().describe())
                .containsExactly("/=logical volume splab-vg/root on vda partition 2", "/boot=vda partition 1", "/srv=vdb");
        assertThat(layout.on("vdb")).singleElement().extracting(GuestLayout.FileSystem::mountPoint).isEqualTo("/srv");
        assertNothingLeft(disk);
        assertNothingLeft(second);
    }

    @Test
    void aRootLogicalVolumeInPiecesIsRefusedNotGuessed() throws Exception {
        // root in two runs of extents (lvextend after the swap was made): no device-mapper joins them here
        Path disk = installerLvmDisk(INSTALLER_FSTAB, new long[][] {{0, 10, 24, 6}});

        assertThatThrownBy(() -> exposer.readLayout(java.util.Map.of("vda", disk), java.util.Map.of(), Access.READ_ONLY))
                .isInstanceOf(LayoutResolver.LayoutRefusedException.class)
                .hasMessageContaining("no Linux file system on the VM's disks [vda]")
                .hasMessageContaining("logical volume splab-vg/root");
        assertNothingLeft(disk);
    }

    @Test
    void exposingRefusesAVolumeWhoseFileSystemChangedSinceTheLayoutWasRead() throws Exception {
        Path disk = installerLvmDisk(INSTALLER_FSTAB, new long[][] {{0, 16}});
        GuestLayout layout = exposer.readLayout(java.util.Map.of("vda", disk), java.util.Map.of(), Access.READ_ONLY);
        GuestLayout.FileSystem boot = layout.fileSystems().get(1);
        GuestLayout stale = new GuestLayout(List.of(layout.root(), new GuestLayout.FileSystem("/boot", "ext4", boot.spec(),
                boot.volume(), "00000000-0000-0000-0000-000000000000")), layout.setAside());

        assertThatThrownBy(() -> exposer.exposeFileSystems(disk, "qcow2", Access.READ_ONLY, stale, "vda"))
                .isInstanceOf(DiskException.class).hasMessageContaining("holds file system " + BOOT_UUID)
                .hasMessageContaining("layout changed");
        assertNothingLeft(disk);
    }

    private Path tree(String name, String... pathsAndContents) throws Exception {
        Path t = Files.createDirectories(tmp.resolve(name + "-tree"));
        for (int i = 0; i < pathsAndContents.length; i += 2) {
            Path f = t.resolve(pathsAndContents[i]);
            Files.createDirectories(f.getParent());
            Files.writeString(f, pathsAndContents[i + 1]);
        }
        return t;
    }

    private void assertNothingLeft(Path img) throws Exception {
        GuestImages.assertNothingLeft(work, img);
    }
}
