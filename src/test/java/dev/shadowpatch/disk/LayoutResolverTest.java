package dev.shadowpatch.disk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shadowpatch.disk.GuestLayout.Volume;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** Every fstab entry kind and what the layout makes of it: a case table of a pure function. */
class LayoutResolverTest {
    static final VolumeFacts ROOT = facts(new Volume("vda", 2, "vg0/root"), "ext4", "aaaa-root", "rootfs", null, null);
    static final List<VolumeFacts> DISK = List.of(
            facts(new Volume("vda", 1, null), "ext4", "bbbb-boot", "boot", "7b494fb4-01", "bootpart"),
            facts(new Volume("vda", 2, null), "LVM2_member", "pv-uuid", null, "7b494fb4-02", null),
            ROOT,
            facts(new Volume("vda", 2, "vg0/swap_1"), "swap", "cccc-swap", null, null, null),
            facts(new Volume("vda", 2, "my-vg/data-lv"), "xfs", "dddd-data", "data", null, null),
            facts(new Volume("vda", 3, null), "vfat", "ABCD-1234", "EFI", "7b494fb4-03", "EFI System"),
            facts(new Volume("vda", 4, null), "ntfs", "eeee", null, null, null),
            facts(new Volume("vda", 2, "vg0/pieces"), null, null, null, null, null).withProblem("in pieces"),
            facts(new Volume("vdb", 0, null), "ext4", "ffff-twin1", "twin", null, null),
            facts(new Volume("vdc", 0, null), "ext4", "ffff-twin2", "twin", null, null));

    private static VolumeFacts facts(Volume v, String type, String uuid, String label, String partUuid, String partLabel) {
        return new VolumeFacts(v, 0, 1 << 20, type, uuid, label, partUuid, partLabel, null);
    }

    @ParameterizedTest(name = "{0} {1} {2} -> {3}")
    @CsvSource(delimiter = '|', textBlock = """
            # spec                            | mount point | type  | outcome
            UUID=bbbb-boot                    | /boot       | ext4  | merged vda partition 1
            uuid=BBBB-BOOT                    | /boot       | ext4  | refused
            UUID="bbbb-boot"                  | /boot       | ext4  | merged vda partition 1
            LABEL=boot                        | /boot       | auto  | merged vda partition 1
            PARTUUID=7b494fb4-01              | /boot       | ext4  | merged vda partition 1
            PARTLABEL=bootpart                | /boot       | ext4  | merged vda partition 1
            /dev/disk/by-uuid/bbbb-boot       | /boot       | ext4  | merged vda partition 1
            /dev/disk/by-label/boot           | /boot/      | ext4  | merged vda partition 1
            /dev/vda1                         | /boot       | ext2  | merged vda partition 1
            /dev/vdb1                         | /boot       | ext4  | refused no such file system
            /dev/mapper/my--vg-data--lv       | /srv        | xfs   | merged logical volume my-vg/data-lv on vda partition 2
            /dev/my-vg/data-lv                | /srv        | xfs   | merged logical volume my-vg/data-lv on vda partition 2
            /dev/mapper/vg0-pieces            | /srv        | ext4  | refused in pieces
            UUID=bbbb-boot                    | /boot       | xfs   | refused fstab says xfs
            /dev/vda4                         | /win        | ntfs  | refused not a file system the merge can read
            UUID=ABCD-1234                    | /boot/efi   | vfat  | merged vda partition 3
            UUID=ABCD-1234                    | /boot/efi   | vfat  | aside-novfat cannot mount vfat
            /dev/mapper/vg0-swap_1            | none        | swap  | aside swap space
            UUID=cccc-swap                    | swap        | swap  | aside swap space
            tmpfs                             | /tmp        | tmpfs | aside in memory
            server:/export                    | /mnt/nfs    | nfs4  | aside network
            //srv/share                       | /mnt/smb    | cifs  | aside network
            /srv/www                          | /var/www    | none  | refused no such file system
            /srv/www                          | /var/www    | none,bind | aside bind mount
            UUID=ffff-gone                    | /backup     | ext4  | refused no such file system
            UUID=bbbb-boot                    | /../etc     | ext4  | refused not an absolute path
            UUID=bbbb-boot                    | boot        | ext4  | refused not an absolute path
            LABEL=twin                        | /srv        | ext4  | refused 2 volumes match it
            UUID=bbbb-boot                    | none        | ext4,noauto | aside no mount point
            """)
    void eachEntryKind(String spec, String mountPoint, String type, String outcome) {
        String typeOnly = type.contains(",") ? type.substring(0, type.indexOf(',')) : type;
        String options = type.contains(",") ? type.substring(type.indexOf(',') + 1) : "defaults";
        Fstab fstab = Fstab.parse("UUID=aaaa-root / ext4 errors=remount-ro 0 1\n" + spec + " " + mountPoint + " " + typeOnly + " " + options + " 0 2\n");
        Set<String> host = outcome.startsWith("aside-novfat") ? Set.of("ext4", "xfs") : LayoutResolver.MERGED_TYPES;
        if (outcome.startsWith("refused")) {
            assertThatThrownBy(() -> LayoutResolver.resolve(fstab, DISK, ROOT, host))
                    .isInstanceOf(LayoutResolver.LayoutRefusedException.class)
                    .hasMessageContaining("/etc/fstab line 2")
                    .hasMessageContaining(outcome.substring("refused".length()).strip());
            return;
        }
        GuestLayout layout = LayoutResolver.resolve(fstab, DISK, ROOT, host);
        if (outcome.startsWith("merged")) {
            assertThat(layout.fileSystems()).hasSize(2);
            GuestLayout.FileSystem fs = layout.fileSystems().get(1);
            assertThat(fs.mountPoint()).isEqualTo(mountPoint.length() > 1 && mountPoint.endsWith("/") ? mountPoint.substring(0, mountPoint.length() - 1) : mountPoint);
            assertThat(fs.volume().describe()).isEqualTo(outcome.substring("merged".length()).strip());
            assertThat(layout.setAside()).isEmpty();
        } else {
            assertThat(layout.fileSystems()).extracting(GuestLayout.FileSystem::mountPoint).containsExactly("/");
            assertThat(layout.setAside()).singleElement().satisfies(a ->
                    assertThat(a.reason()).contains(outcome.substring(outcome.indexOf(' ') + 1)));
        }
    }

    @Test
    void bindMountsAreSetAsideAsSuchWhenTheirSourceIsOnAMergedFileSystem() {
        Fstab fstab = Fstab.parse("UUID=aaaa-root / ext4 defaults 0 1\n/srv/www /var/www none bind 0 0\n");
        GuestLayout layout = LayoutResolver.resolve(fstab, DISK, ROOT);
        assertThat(layout.setAside()).singleElement().satisfies(a -> assertThat(a.reason()).startsWith("bind mount"));
    }

    @Test
    void everyProblemIsNamedAtOnceAndTheRootMustBeWhereFstabWasRead() {
        Fstab fstab = Fstab.parse("LABEL=boot / ext4 defaults 0 1\nUUID=gone /a ext4 defaults 0 2\nUUID=gone2 /b ext4 defaults 0 2\n");
        assertThatThrownBy(() -> LayoutResolver.resolve(fstab, DISK, ROOT))
                .hasMessageContaining("line 1").hasMessageContaining("but this fstab was read from logical volume vg0/root")
                .hasMessageContaining("line 2").hasMessageContaining("line 3");
    }

    @Test
    void withoutARootLineTheFileSystemHoldingFstabIsTheRoot() {
        GuestLayout layout = LayoutResolver.resolve(Fstab.parse("UUID=bbbb-boot /boot ext4 defaults 0 2\n"), DISK, ROOT);
        assertThat(layout.fileSystems()).extracting(f -> f.mountPoint() + "=" + f.volume().describe())
                .containsExactly("/=logical volume vg0/root on vda partition 2", "/boot=vda partition 1");
        assertThat(layout.holding("/boot/grub/grub.cfg").mountPoint()).isEqualTo("/boot");
        assertThat(layout.holding("/bootstrap").mountPoint()).isEqualTo("/");
        assertThat(layout.nestedIn(layout.root())).containsExactly("boot");
        assertThat(GuestLayout.fromJson(layout.toJson())).isEqualTo(layout);
    }

    @Test
    void everyMountPointHasAHostNameNoOtherShares() {
        List<String> mountPoints = List.of("/", "/root", "/-", "/boot/efi", "/boot-efi", "/boot--efi", "/srv/a b", "/srv/a_b", "/srv/é");
        assertThat(mountPoints.stream().map(GuestLayout::keyOf).distinct()).hasSameSizeAs(mountPoints);
        assertThat(GuestLayout.keyOf("/boot/efi")).isEqualTo("-boot-efi");
        assertThat(GuestLayout.keyOf("/srv/a b")).isEqualTo("-srv-a_x20_b");
    }

    @Test
    void fstabSyntax() {
        Fstab f = Fstab.parse("# c\n\n  LABEL=My\\040Disk /mnt/my\\040disk ext4 defaults,nofail\n/dev/vda1 /x ext4\n");
        assertThat(Fstab.unescape("/srv/caf\\303\\251")).as("octal escapes are bytes of UTF-8").isEqualTo("/srv/café");
        assertThat(f.entries()).extracting(e -> e.line() + ":" + e.spec() + ":" + e.mountPoint() + ":" + String.join(",", e.options()))
                .containsExactly("3:LABEL=My Disk:/mnt/my disk:defaults,nofail", "4:/dev/vda1:/x:defaults");
        assertThatThrownBy(() -> Fstab.parse("/dev/vda1 /\n")).hasMessageContaining("line 1 has 2 fields");
        assertThat(LayoutResolver.demangle("splab--vg-root")).isEqualTo("splab-vg/root");
        assertThat(LayoutResolver.demangle("novg")).isNull();
    }
}
