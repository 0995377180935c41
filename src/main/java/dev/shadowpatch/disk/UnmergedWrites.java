package dev.shadowpatch.disk;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a shadow wrote to its disk outside every file system the merge carries over: a boot loader
 * installed into the boot sector or the gap after it ({@code grub-install}), an EFI system partition
 * this host cannot merge, LVM metadata, a partition no fstab entry names. The merge copies files,
 * so such a write would not reach the live VM and the patch would land in part: the approver is
 * told, with the place and the amount. A pure function over the delta's own clusters
 * ({@code qemu-img map}) and what probing found; swap is ignored (the shadow pages out, nothing
 * there is kept).
 */
public final class UnmergedWrites {
    private UnmergedWrites() {}

    /**
     * @param written     guest byte ranges {start, length} the delta holds data of its own for
     * @param found       every volume probing found on the disk
     * @param merged      the volumes whose file systems the merge carries over
     * @param clusterSize the delta's cluster size: a cluster shared by a merged volume and its
     *                    neighbour is counted as the merged volume's (written there, most likely)
     * @param carried     byte ranges [from, to) the window carries over otherwise (the boot loader's
     *                    area, {@link BootLoaderArea})
     * @return one line per place written outside, largest first; empty when there is none
     */
    public static List<String> find(List<long[]> written, List<VolumeFacts> found, Set<GuestLayout.Volume> merged,
                                    long clusterSize, List<long[]> carried) {
        List<long[]> inside = new ArrayList<>(carried);
        for (VolumeFacts f : found) {
            if (f.offset() < 0) {
                continue;
            }
            boolean mergedHere = merged.contains(f.volume());
            boolean swap = "swap".equals(f.type());
            if (mergedHere || swap) {
                long from = f.offset() / clusterSize * clusterSize;
                long to = ceil(f.offset() + f.size(), clusterSize);
                inside.add(new long[] {from, to});
            }
        }
        Map<String, Long> outside = new LinkedHashMap<>();
        for (long[] w : written) {
            for (long[] piece : subtract(w[0], w[0] + w[1], inside)) {
                outside.merge(place(piece[0], found), piece[1] - piece[0], Long::sum);
            }
        }
        return outside.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .map(e -> kib(e.getValue()) + " written in " + e.getKey()).toList();
    }

    /** The innermost volume holding a byte, or the disk area outside every partition. */
    private static String place(long at, List<VolumeFacts> found) {
        VolumeFacts best = null;
        for (VolumeFacts f : found) {
            if (f.offset() >= 0 && at >= f.offset() && at < f.offset() + f.size() && (best == null || f.size() <= best.size())) {
                best = f;
            }
        }
        if (best == null) {
            return at < 2L << 20 ? "the boot sector and the gap before the first partition (a boot loader's install, e.g. grub-install)"
                    : "space outside every partition";
        }
        String what = best.type() == null ? "no known file system" : best.type();
        if ("LVM2_member".equals(best.type())) {
            what = "LVM metadata or unused extents";
        }
        return best.volume().describe() + " (" + what + ", not merged)";
    }

    /** [from, to) minus the ranges in cut (each {from, to}). */
    static List<long[]> subtract(long from, long to, List<long[]> cut) {
        List<long[]> left = new ArrayList<>(List.of(new long[] {from, to}));
        for (long[] c : cut) {
            List<long[]> next = new ArrayList<>();
            for (long[] l : left) {
                if (c[1] <= l[0] || c[0] >= l[1]) {
                    next.add(l);
                    continue;
                }
                if (c[0] > l[0]) {
                    next.add(new long[] {l[0], c[0]});
                }
                if (c[1] < l[1]) {
                    next.add(new long[] {c[1], l[1]});
                }
            }
            left = next;
        }
        return left;
    }

    private static long ceil(long v, long unit) {
        return (v + unit - 1) / unit * unit;
    }

    static String kib(long bytes) {
        return bytes >= 1 << 20 ? String.format("%.1f MiB", bytes / 1048576.0) : (bytes + 1023) / 1024 + " KiB";
    }
}
