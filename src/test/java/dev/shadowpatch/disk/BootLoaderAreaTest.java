package dev.shadowpatch.disk;

import static org.assertj.core.api.Assertions.assertThat;

import dev.shadowpatch.disk.BootLoaderArea.Copy;
import dev.shadowpatch.disk.BootLoaderArea.Partition;
import dev.shadowpatch.disk.BootLoaderArea.Table;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Where the boot loader lives, and the decision for a shadow's writes there: one case a row. */
class BootLoaderAreaTest {
    static final long K = 1024, MIB = K * K;
    static final Table MBR = new Table("dos", "0x1234abcd", List.of(
            new Partition(1, MIB, 512 * MIB, "83", null, null), new Partition(2, 513 * MIB, 1024 * MIB, "8e", null, null)));
    static final Table MBR_MOVED = new Table("dos", "0x1234abcd", List.of(
            new Partition(1, 2 * MIB, 512 * MIB, "83", null, null), new Partition(2, 514 * MIB, 1024 * MIB, "8e", null, null)));
    static final Table GPT_BIOS = new Table("gpt", "AAAA", List.of(
            new Partition(1, MIB, MIB, "21686148-6449-6e6f-744e-656564454649", "u1", null),
            new Partition(2, 2 * MIB, 100 * MIB, "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "u2", null)));
    static final Table GPT_UEFI = new Table("gpt", "BBBB", List.of(
            new Partition(1, MIB, 100 * MIB, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "u1", null),
            new Partition(2, 101 * MIB, 100 * MIB, "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "u2", null)));
    static final Table WHOLE_DISK = new Table("dos", null, List.of());

    static Table table(String name) {
        return switch (name) {
            case "mbr" -> MBR;
            case "mbr-moved" -> MBR_MOVED;
            case "gpt-bios" -> GPT_BIOS;
            case "gpt-uefi" -> GPT_UEFI;
            case "none" -> WHOLE_DISK;
            default -> throw new IllegalArgumentException(name);
        };
    }

    /** "start+length" in KiB, ";"-separated; "-" none. */
    static List<long[]> ranges(String s) {
        if (s.equals("-")) {
            return List.of();
        }
        return java.util.Arrays.stream(s.split(";")).map(r -> r.split("\\+"))
                .map(p -> new long[] {Long.parseLong(p[0]) * K, Long.parseLong(p[1]) * K}).toList();
    }

    @ParameterizedTest(name = "{0}: shadow {1}, live {2}, shadow's table {3} -> {4} {5}")
    @CsvSource(delimiter = '|', textBlock = """
            # table   | shadow wrote (KiB)   | live wrote | shadow table | copied [from-to) bytes            | refusal
            mbr       | 0+64                 | -          | mbr          | 0-440;512-65536                   | -
            mbr       | 0+1024               | -          | mbr          | 0-440;512-1048576                 | -
            mbr       | 0+64;2048+64         | 4096+64    | mbr          | 0-440;512-65536                   | -
            mbr       | 1024+64              | -          | mbr          | -                                 | -
            mbr       | 960+128              | -          | mbr          | 983040-1048576                    | -
            mbr       | 0+64                 | 64+64      | mbr          | 0-440;512-65536                   | the live VM wrote its own boot loader area since the snapshot (64 KiB)
            mbr       | 0+64                 | -          | mbr-moved    | 0-440;512-65536                   | the shadow's partition table is not the live VM's
            gpt-bios  | 0+64;1024+64         | -          | gpt-bios     | 0-440;1048576-1114112             | -
            gpt-bios  | 64+64                | -          | gpt-bios     | -                                 | -
            gpt-uefi  | 0+64;1024+64         | -          | gpt-uefi     | 0-440                             | -
            none      | 0+64                 | -          | none         | -                                 | -
            """)
    void decide(String tableName, String shadow, String live, String shadowTable, String copied, String refusal) {
        Copy c = BootLoaderArea.decide("vda", ranges(shadow), ranges(live), table(shadowTable), table(tableName));
        assertThat(c.ranges()).extracting(r -> r[0] + "-" + r[1]).containsExactlyElementsOf(
                copied.equals("-") ? List.of() : List.of(copied.split(";")));
        assertThat(c.refusal()).isEqualTo(refusal.equals("-") ? null : refusal);
        assertThat(c.carried()).isEqualTo(!copied.equals("-") && refusal.equals("-"));
        assertThat(c.shadowWrote()).isEqualTo(!copied.equals("-"));
    }
}
