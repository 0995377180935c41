package dev.shadowpatch.disk;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The file systems of a VM as its own {@code /etc/fstab} mounts them, each found on the VM's disks:
 * the merge merges each as its own tree. What fstab mounts that is not a file system on the VM's
 * disks (swap, memory file systems, bind mounts, network shares) is set aside with the reason, so
 * an approver sees it was looked at and why it is not merged.
 *
 * @param fileSystems the root first, then by mount point: parents before what is mounted in them
 * @param setAside    fstab entries not merged, each with its reason
 */
public record GuestLayout(List<FileSystem> fileSystems, List<SetAside> setAside) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public GuestLayout {
        fileSystems = fileSystems.stream().sorted(Comparator.comparing(FileSystem::mountPoint)).toList();
        setAside = List.copyOf(setAside);
    }

    /**
     * Where a file system lies on the VM's disks.
     *
     * @param disk          the libvirt target of the disk, e.g. {@code vda}
     * @param partition     its partition number, 0 for the whole disk
     * @param logicalVolume {@code vg/lv} when the file system is an LVM logical volume in that partition, else null
     */
    public record Volume(String disk, int partition, String logicalVolume) {
        public String describe() {
            String where = partition == 0 ? disk : disk + " partition " + partition;
            return logicalVolume == null ? where : "logical volume " + logicalVolume + " on " + where;
        }
    }

    /**
     * @param mountPoint absolute, as the guest mounts it ({@code /}, {@code /boot}, {@code /boot/efi})
     * @param spec       the fstab source as written ({@code UUID=...}, {@code /dev/mapper/...})
     * @param uuid       the file system's UUID found on the disk (checked again at every exposure), or null
     */
    public record FileSystem(String mountPoint, String type, String spec, Volume volume, String uuid) {
        /** The directory name used for it on the host ({@link GuestLayout#keyOf}). */
        public String key() {
            return keyOf(mountPoint);
        }
    }

    /**
     * A name for a mount point that no other mount point shares (the guest chooses them, so
     * {@code /root} must not become the root's): {@code /} is {@code -}, {@code /boot/efi} is
     * {@code -boot-efi}, {@code /boot-efi} is {@code -boot--efi}; a character other than a letter,
     * digit, '.' or '_' is written {@code _xHH_} per UTF-8 byte ('_' too).
     */
    public static String keyOf(String mountPoint) {
        StringBuilder k = new StringBuilder();
        for (byte b : mountPoint.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if (c == '/') {
                k.append('-');
            } else if (c == '-') {
                k.append("--");
            } else if (c < 0x80 && (Character.isLetterOrDigit(c) || c == '.')) {
                k.append(c);
            } else {
                k.append(String.format("_x%02x_", b & 0xff));
            }
        }
        return k.toString();
    }

    public record SetAside(String mountPoint, String spec, String type, String reason) {}

    /** The layout of an image whose one root file system fills it (the lab's direct-kernel shape). */
    public static GuestLayout wholeDisk(String disk, String type) {
        return new GuestLayout(List.of(new FileSystem("/", type, "(whole disk)", new Volume(disk, 0, null), null)), List.of());
    }

    public FileSystem root() {
        return fileSystems.stream().filter(f -> f.mountPoint().equals("/")).findFirst()
                .orElseThrow(() -> new IllegalStateException("a layout without a root file system"));
    }

    /** The file systems on one disk. */
    public List<FileSystem> on(String disk) {
        return fileSystems.stream().filter(f -> f.volume().disk().equals(disk)).toList();
    }

    /** The file system an absolute guest path is on (the longest mount point that is its prefix). */
    public FileSystem holding(String absolutePath) {
        FileSystem best = root();
        for (FileSystem f : fileSystems) {
            if (within(absolutePath, f.mountPoint()) && f.mountPoint().length() > best.mountPoint().length()) {
                best = f;
            }
        }
        return best;
    }

    /** The mount points mounted inside {@code fs} (its nested mounts), relative to it. */
    public List<String> nestedIn(FileSystem fs) {
        List<String> out = new ArrayList<>();
        for (FileSystem f : fileSystems) {
            if (f != fs && !f.mountPoint().equals(fs.mountPoint()) && within(f.mountPoint(), fs.mountPoint())) {
                out.add(relative(f.mountPoint(), fs.mountPoint()));
            }
        }
        return out;
    }

    /** {@code /boot/grub/grub.cfg} relative to {@code /boot}: {@code grub/grub.cfg}; the mount point itself: "". */
    public static String relative(String absolutePath, String mountPoint) {
        if (mountPoint.equals("/")) {
            return absolutePath.substring(1);
        }
        return absolutePath.length() == mountPoint.length() ? "" : absolutePath.substring(mountPoint.length() + 1);
    }

    /** The guest's absolute path of a path relative to a mount point. */
    public static String absolute(String mountPoint, String relative) {
        if (relative.isEmpty()) {
            return mountPoint;
        }
        return mountPoint.equals("/") ? "/" + relative : mountPoint + "/" + relative;
    }

    public static boolean within(String path, String mountPoint) {
        return mountPoint.equals("/") || path.equals(mountPoint) || path.startsWith(mountPoint + "/");
    }

    /** One line per file system and per entry set aside, for logs and the approver. */
    public List<String> describe() {
        List<String> lines = new ArrayList<>();
        for (FileSystem f : fileSystems) {
            lines.add(f.mountPoint() + ": " + f.type() + " on " + f.volume().describe() + " (" + f.spec() + "), merged");
        }
        for (SetAside s : setAside) {
            lines.add(s.mountPoint() + ": " + s.type() + " (" + s.spec() + "), not merged: " + s.reason());
        }
        return lines;
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (IOException e) {
            throw new IllegalStateException("layout cannot be written as JSON: " + e.getMessage(), e);
        }
    }

    public static GuestLayout fromJson(String json) {
        try {
            return JSON.readValue(json, GuestLayout.class);
        } catch (IOException e) {
            throw new IllegalArgumentException("not a guest layout: " + e.getMessage(), e);
        }
    }
}
