package dev.shadowpatch.disk;

import static org.assertj.core.api.Assertions.assertThat;

import dev.shadowpatch.disk.GuestLayout.Volume;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Where a shadow's write lands, against a disk like the Debian installer's LVM one plus an ESP. */
class UnmergedWritesTest {
    static final long MIB = 1 << 20, C = 64 * 1024;
    static final Volume ESP = new Volume("vda", 1, null), BOOT = new Volume("vda", 2, null), PV = new Volume("vda", 3, null),
            ROOT = new Volume("vda", 3, "vg/root"), SWAP = new Volume("vda", 3, "vg/swap_1");
    static final List<VolumeFacts> DISK = List.of(
            facts(ESP, 1 * MIB, 32 * MIB, "vfat"),
            facts(BOOT, 33 * MIB, 64 * MIB, "ext4"),
            facts(PV, 97 * MIB, 400 * MIB, "LVM2_member"),
            facts(ROOT, 98 * MIB, 300 * MIB, "ext4"),
            facts(SWAP, 398 * MIB, 64 * MIB, "swap"));

    static VolumeFacts facts(Volume v, long offset, long size, String type) {
        return new VolumeFacts(v, offset, size, type, null, null, null, null, null);
    }

    @ParameterizedTest(name = "write {0}+{1} -> {2}")
    @CsvSource(delimiter = '|', textBlock = """
            # start (KiB) | length (KiB) | finding
            100352        | 64           | none
            33792         | 1024         | none
            409600        | 1024         | none
            0             | 64           | 64 KiB written in the boot sector and the gap before the first partition (a boot loader's install, e.g. grub-install)
            64            | 960          | 960 KiB written in the boot sector and the gap before the first partition (a boot loader's install, e.g. grub-install)
            1024          | 128          | 128 KiB written in vda partition 1 (vfat, not merged)
            99328         | 64           | 64 KiB written in vda partition 3 (LVM metadata or unused extents, not merged)
            34816         | 64           | none
            600000        | 64           | 64 KiB written in space outside every partition
            """)
    void eachPlace(long startKib, long lengthKib, String finding) {
        List<String> found = UnmergedWrites.find(List.<long[]>of(new long[] {startKib * 1024, lengthKib * 1024}), DISK,
                Set.of(BOOT, ROOT), C, List.of());
        if (finding.equals("none")) {
            assertThat(found).isEmpty();
        } else {
            assertThat(found).containsExactly(finding);
        }
    }

    /** A boot loader the window carries over (BootLoaderArea) is no longer named; the rest still is. */
    @Test
    void aCarriedBootLoaderIsNotNamed() {
        List<long[]> written = List.of(new long[] {0, 1024 * 1024}, new long[] {99328L * 1024, 64 * 1024});
        assertThat(UnmergedWrites.find(written, DISK, Set.of(BOOT, ROOT), C, List.<long[]>of(new long[] {0, 1024 * 1024})))
                .containsExactly("64 KiB written in vda partition 3 (LVM metadata or unused extents, not merged)");
    }
}
