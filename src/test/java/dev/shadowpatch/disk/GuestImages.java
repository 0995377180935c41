package dev.shadowpatch.disk;

import dev.shadowpatch.virt.HostCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Small qcow2 disks shaped like the VMs users run, made on the host for the disk tests: a partition
 * table, ext4 and vfat file systems with files in them, and an LVM volume group written without the
 * device-mapper (pvcreate/vgcreate, then the logical volumes' metadata by vgcfgrestore, every LVM
 * command restricted to the one loop device with --devices).
 */
final class GuestImages {
    static final Duration T = Duration.ofSeconds(120);
    static final long MIB = 1024 * 1024;

    private final Path dir;

    GuestImages(Path dir) {
        this.dir = dir;
    }

    /** A file system image of sizeMib holding the given tree (mkfs.ext4 -d, or a loop-mounted vfat). */
    Path fileSystem(String name, String type, int sizeMib, String uuid, String label, Path content) throws IOException {
        Path img = dir.resolve(name + ".fs");
        if (type.equals("vfat")) {
            run("mkfs.vfat", "-C", "-n", label == null ? "EFI" : label, "-i", uuid.replace("-", ""), img.toString(), Integer.toString(sizeMib * 1024));
            Path m = Files.createDirectories(dir.resolve(name + ".mnt"));
            run("mount", "-o", "loop", img.toString(), m.toString());
            try {
                run("cp", "-r", content + "/.", m.toString());
            } finally {
                run("umount", m.toString());
            }
        } else {
            List<String> argv = new ArrayList<>(List.of("mkfs." + type, "-q", "-U", uuid, "-d", content.toString()));
            if (label != null) {
                argv.addAll(List.of("-L", label));
            }
            argv.addAll(List.of(img.toString(), sizeMib + "M"));
            run(argv.toArray(String[]::new));
        }
        return img;
    }

    /** Writes a file system image into the raw disk at a byte offset. */
    static void place(Path fs, Path raw, long offset) {
        run("dd", "if=" + fs, "of=" + raw, "bs=1M", "seek=" + offset, "oflag=seek_bytes", "conv=notrunc,sparse", "status=none");
    }

    /** A raw disk of sizeMib with the sfdisk script's partition table. */
    Path partitioned(String name, int sizeMib, String sfdiskScript) {
        Path raw = dir.resolve(name + ".raw");
        run("truncate", "-s", sizeMib + "M", raw.toString());
        run("sh", "-c", "printf '" + sfdiskScript.replace("\n", "\\n") + "' | sfdisk -q " + raw);
        return raw;
    }

    /**
     * Makes the partition at offset a PV of volume group vg with the given logical volumes, each
     * {name, first extent, extent count} in one linear segment (4 MiB extents); returns where the
     * PV's data (extent 0) starts in the disk.
     */
    static long volumeGroup(Path raw, long offset, long size, String vg, long[][] extents, String... names) throws IOException {
        String loop = run("losetup", "--find", "--show", "--offset", Long.toString(offset), "--sizelimit", Long.toString(size), raw.toString())
                .stdout().strip();
        try {
            run("pvcreate", "-q", "--devices", loop, loop);
            run("vgcreate", "-q", "--devices", loop, "-s", "4m", vg, loop);
            Path backup = Files.createTempFile("vg", ".txt");
            run("vgcfgbackup", "-q", "--devices", loop, "-f", backup.toString(), vg);
            String text = Files.readString(backup);
            StringBuilder lvs = new StringBuilder("\n\tlogical_volumes {\n");
            for (int i = 0; i < names.length; i++) {
                lvs.append("\t\t").append(names[i]).append(" {\n\t\t\tid = \"").append(lvId(i)).append("\"\n")
                        .append("\t\t\tstatus = [\"READ\", \"WRITE\", \"VISIBLE\"]\n\t\t\tflags = []\n")
                        .append("\t\t\tsegment_count = ").append(extents[i].length / 2).append("\n");
                long start = 0;
                for (int s = 0; s < extents[i].length; s += 2) {
                    lvs.append("\t\t\tsegment").append(s / 2 + 1).append(" {\n\t\t\t\tstart_extent = ").append(start)
                            .append("\n\t\t\t\textent_count = ").append(extents[i][s + 1])
                            .append("\n\t\t\t\ttype = \"striped\"\n\t\t\t\tstripe_count = 1\n\t\t\t\tstripes = [\"pv0\", ")
                            .append(extents[i][s]).append("]\n\t\t\t}\n");
                    start += extents[i][s + 1];
                }
                lvs.append("\t\t}\n");
            }
            lvs.append("\t}\n");
            int end = text.stripTrailing().lastIndexOf('}');
            Files.writeString(backup, text.substring(0, end) + lvs + "}\n");
            run("vgcfgrestore", "-q", "--devices", loop, "-f", backup.toString(), vg);
            Files.delete(backup);
            String peStart = run("pvs", "--devices", loop, "--readonly", "--noheadings", "--units", "b", "--nosuffix", "-o", "pe_start")
                    .stdout().strip();
            return offset + Long.parseLong(peStart);
        } finally {
            run("losetup", "-d", loop);
        }
    }

    private static String lvId(int i) {
        String c = Integer.toString(i);
        return "abcdef-" + c.repeat(4) + "-aaaa-bbbb-cccc-dddd-eeeeee".substring(0, 27);
    }

    Path qcow2(Path raw) {
        Path q = dir.resolve(raw.getFileName().toString().replace(".raw", ".qcow2"));
        run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), q.toString());
        return q;
    }

    /** Skips the test unless this host mounts guest disks (root, /dev/fuse, loop devices). */
    static void assumeHostCanMount() {
        org.junit.jupiter.api.Assumptions.assumeTrue(ProcessHandle.current().info().user().map("root"::equals).orElse(false), "needs root");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(Path.of("/dev/fuse")) && Files.exists(Path.of("/dev/loop-control")),
                "needs /dev/fuse and loop");
    }

    /** No work directory, loop device, mount or daemon of the exposer is left. */
    static void assertNothingLeft(Path work, Path img) throws IOException {
        try (var dirs = Files.list(work)) {
            org.assertj.core.api.Assertions.assertThat(dirs.toList()).as("work directories left").isEmpty();
        }
        org.assertj.core.api.Assertions.assertThat(HostCommand.run(T, "losetup", "-a").stdout()).doesNotContain(work.toString());
        org.assertj.core.api.Assertions.assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(work.toString());
        org.assertj.core.api.Assertions.assertThat(HostCommand.run(T, "pgrep", "-af", "qemu-storage-daemon").stdout())
                .doesNotContain(img.toString());
    }

    static HostCommand.Result run(String... argv) {
        return HostCommand.run(T, argv).orThrow(String.join(" ", argv));
    }
}
