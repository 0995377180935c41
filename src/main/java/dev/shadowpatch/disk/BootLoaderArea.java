package dev.shadowpatch.disk;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Where a BIOS boot loader lives on a disk outside every file system, and what of a shadow's writes
 * there the window carries to the live disk. {@code grub-install} (run by grub-pc's upgrade) writes
 * its boot code into the first sector and its core image into the gap before the first partition
 * (an MBR disk) or into the BIOS boot partition (a GPT disk); the merge copies files, so without
 * this the live VM would boot the old core image against the new modules in {@code /boot/grub}
 * (GRUB 2.06's core with 2.12's modules stops with "out of range pointer": seen on a Debian 12 to 13
 * upgrade). A pure decision over the disk's partition table and the deltas' own clusters.
 *
 * <p>The area never includes the partition table: bytes 440-511 of the first sector (the disk
 * signature and the MBR's four entries) and a GPT's header and entries stay the live disk's.
 */
public final class BootLoaderArea {
    /** The GPT partition type GRUB embeds its core image in on a BIOS machine. */
    static final String BIOS_BOOT = "21686148-6449-6E6F-744E-656564454649";
    /** The boot code of the first sector: the rest of it is the disk signature and the partition table. */
    static final long BOOT_CODE = 440;

    private BootLoaderArea() {}

    /** One partition as the table has it (number as in vdaN), in bytes; type is the MBR's hex type or the GPT's type GUID. */
    public record Partition(int number, long start, long size, String type, String uuid, String name) {}

    /** A disk's partition table (label {@code dos} or {@code gpt}); equal tables lay the disk out alike. */
    public record Table(String label, String id, List<Partition> partitions) {
        public Table {
            partitions = List.copyOf(partitions);
        }
    }

    /** What the window does with the shadow's boot loader on one disk. */
    public record Copy(String disk, List<long[]> ranges, String refusal) {
        public static Copy none(String disk) {
            return new Copy(disk, List.of(), null);
        }

        /** Whether the shadow wrote its boot loader area at all. */
        public boolean shadowWrote() {
            return !ranges.isEmpty() || refusal != null;
        }

        /** Whether the window copies it. */
        public boolean carried() {
            return !ranges.isEmpty() && refusal == null;
        }

        public long bytes() {
            return ranges.stream().mapToLong(r -> r[1] - r[0]).sum();
        }

        /** One line for the approver and the log. */
        public String describe() {
            String what = disk + ": " + UnmergedWrites.kib(bytes()) + " of the shadow's boot loader (its boot sector, and the gap"
                    + " before the first partition or the BIOS boot partition: grub-install)";
            return refusal == null ? what + " is written to the live disk after its files" : what + " cannot be carried over: " + refusal;
        }
    }

    /** The boot loader's bytes [from, to) of a disk with this table; none for a disk without one. */
    public static List<long[]> of(Table table) {
        if (table == null || table.partitions().isEmpty()) {
            return List.of();
        }
        List<long[]> out = new ArrayList<>();
        out.add(new long[] {0, BOOT_CODE});
        if ("dos".equals(table.label())) {
            long first = table.partitions().stream().mapToLong(Partition::start).min().orElse(512);
            if (first > 512) {
                out.add(new long[] {512, first});
            }
        } else if ("gpt".equals(table.label())) {
            table.partitions().stream().filter(p -> BIOS_BOOT.equals(p.type().toUpperCase(Locale.ROOT)))
                    .forEach(p -> out.add(new long[] {p.start(), p.start() + p.size()}));
        }
        return out;
    }

    /**
     * What the shadow's writes there no longer leave behind once the copy is carried: the whole
     * stretch before the first partition (the table in it is the live VM's own, checked equal) and the
     * BIOS boot partitions.
     */
    public static List<long[]> covered(Table table) {
        if (table == null || table.partitions().isEmpty()) {
            return List.of();
        }
        List<long[]> out = new ArrayList<>(of(table));
        out.add(new long[] {0, table.partitions().stream().mapToLong(Partition::start).min().orElse(0)});
        return out;
    }

    /**
     * The decision for one disk.
     *
     * @param shadowWritten byte ranges {start, length} the shadow's delta holds data of its own for
     * @param liveWritten   the same for the live VM's delta (its writes since the snapshot)
     * @param shadowTable   the partition table the shadow sees; liveTable the live VM's
     */
    public static Copy decide(String disk, List<long[]> shadowWritten, List<long[]> liveWritten, Table shadowTable, Table liveTable) {
        List<long[]> area = of(liveTable);
        List<long[]> copy = intersect(shadowWritten, area);
        if (copy.isEmpty()) {
            return Copy.none(disk);
        }
        if (!liveTable.equals(shadowTable)) {
            return new Copy(disk, copy, "the shadow's partition table is not the live VM's");
        }
        List<long[]> both = intersect(liveWritten, area);
        if (!both.isEmpty()) {
            return new Copy(disk, copy, "the live VM wrote its own boot loader area since the snapshot ("
                    + UnmergedWrites.kib(both.stream().mapToLong(r -> r[1] - r[0]).sum()) + ")");
        }
        return new Copy(disk, copy, null);
    }

    /** The parts of the written ranges {start, length} inside the area's [from, to), merged and sorted. */
    static List<long[]> intersect(List<long[]> written, List<long[]> area) {
        List<long[]> out = new ArrayList<>();
        for (long[] w : written) {
            for (long[] a : area) {
                long from = Math.max(w[0], a[0]), to = Math.min(w[0] + w[1], a[1]);
                if (from < to) {
                    out.add(new long[] {from, to});
                }
            }
        }
        out.sort(Comparator.comparingLong(r -> r[0]));
        List<long[]> merged = new ArrayList<>();
        for (long[] r : out) {
            if (!merged.isEmpty() && merged.get(merged.size() - 1)[1] >= r[0]) {
                merged.get(merged.size() - 1)[1] = Math.max(merged.get(merged.size() - 1)[1], r[1]);
            } else {
                merged.add(r);
            }
        }
        return merged;
    }
}
