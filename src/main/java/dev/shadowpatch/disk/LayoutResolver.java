package dev.shadowpatch.disk;

import dev.shadowpatch.disk.GuestLayout.FileSystem;
import dev.shadowpatch.disk.GuestLayout.SetAside;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Decides a VM's {@link GuestLayout} from its {@code /etc/fstab} and what probing found on its disks:
 * a pure function, so every case is a row of its test. Each fstab entry is merged (a Linux file
 * system found on the disks), set aside with its reason (swap, memory, bind, network, not mounted at
 * boot) or makes the whole layout refused: a file system the guest mounts at boot that cannot be
 * found or exposed would otherwise stay unpatched while its siblings are merged.
 */
public final class LayoutResolver {
    /** File systems the merge reads and writes (vfat: the EFI system partition). */
    static final Set<String> MERGED_TYPES = Set.of("ext2", "ext3", "ext4", "xfs", "btrfs", "vfat");
    private static final Set<String> MEMORY_TYPES = Set.of("tmpfs", "ramfs", "proc", "sysfs", "devpts", "devtmpfs",
            "mqueue", "hugetlbfs", "cgroup", "cgroup2", "securityfs", "debugfs", "tracefs", "configfs", "efivarfs",
            "binfmt_misc", "pstore", "bpf", "fusectl");
    private static final Set<String> NETWORK_TYPES = Set.of("nfs", "nfs4", "cifs", "smb3", "smbfs", "sshfs", "fuse.sshfs",
            "glusterfs", "ceph", "9p", "virtiofs", "davfs", "fuse.s3fs", "ocfs2", "gfs2");
    private static final Pattern DEVICE_NAME = Pattern.compile("/dev/((?:[sv]|xv|h)d[a-z]+)(\\d*)");
    private static final Pattern BY_LINK = Pattern.compile("/dev/disk/by-(uuid|label|partuuid|partlabel)/(.+)");
    private static final Pattern MAPPER = Pattern.compile("/dev/mapper/(.+)");
    private static final Pattern VG_LV = Pattern.compile("/dev/([^/]+)/([^/]+)");

    private LayoutResolver() {}

    /** The layout could not be understood: each reason names the fstab line and what to do. */
    public static class LayoutRefusedException extends DiskException {
        private final List<String> reasons;

        public LayoutRefusedException(List<String> reasons) {
            super("the VM's file system layout is not understood, so no part of it is merged: " + String.join("; ", reasons));
            this.reasons = List.copyOf(reasons);
        }

        public List<String> reasons() {
            return reasons;
        }
    }

    /**
     * @param fstab  the guest's fstab, read from {@code rootFs}
     * @param found  everything probing found on the VM's disks
     * @param rootFs where the fstab was read from
     */
    public static GuestLayout resolve(Fstab fstab, List<VolumeFacts> found, VolumeFacts rootFs) {
        return resolve(fstab, found, rootFs, MERGED_TYPES);
    }

    /**
     * @param hostMounts the file system types this host's kernel mounts: an EFI system partition
     *                   (vfat) it cannot mount is set aside, named, instead of refusing the VM
     */
    public static GuestLayout resolve(Fstab fstab, List<VolumeFacts> found, VolumeFacts rootFs, Set<String> hostMounts) {
        List<FileSystem> merged = new ArrayList<>();
        List<SetAside> aside = new ArrayList<>();
        List<String> refused = new ArrayList<>();
        Set<String> mountPoints = new HashSet<>();
        boolean rootSeen = false;
        for (Fstab.Entry e : fstab.entries()) {
            String where = "/etc/fstab line " + e.line() + " (" + e.spec() + " on " + e.mountPoint() + ")";
            String type = e.type().toLowerCase(Locale.ROOT);
            if (type.equals("swap")) {
                aside.add(new SetAside(e.mountPoint(), e.spec(), type, "swap space: no files to merge"));
                continue;
            }
            if (e.mountPoint().equals("none") && !e.hasOption("bind") && !type.equals("bind")) {
                aside.add(new SetAside(e.mountPoint(), e.spec(), type, "no mount point: not mounted as a file system"));
                continue;
            }
            String mp = normalize(e.mountPoint());
            if (mp == null) {
                refused.add(where + ": the mount point is not an absolute path without '.' or '..' components");
                continue;
            }
            if (e.hasOption("bind") || e.hasOption("rbind") || type.equals("bind")) {
                aside.add(new SetAside(mp, e.spec(), type, "bind mount: its files are merged with the file system that holds " + e.spec()));
                continue;
            }
            if (MEMORY_TYPES.contains(type)) {
                aside.add(new SetAside(mp, e.spec(), type, "in memory: emptied at every boot"));
                continue;
            }
            if (NETWORK_TYPES.contains(type) || type.startsWith("fuse") || e.hasOption("_netdev")) {
                aside.add(new SetAside(mp, e.spec(), type, "network or user-space file system: not on the VM's disks (the isolated shadow cannot reach it either)"));
                continue;
            }
            if (e.hasOption("noauto")) {
                aside.add(new SetAside(mp, e.spec(), type, "noauto: not mounted at boot, so no patch wrote to it"));
                continue;
            }
            List<VolumeFacts> matches = find(e.spec(), found);
            if (matches.size() > 1) {
                refused.add(where + ": " + matches.size() + " volumes match it (" + String.join(", ",
                        matches.stream().map(m -> m.volume().describe()).toList()) + "), a copy of a file system:"
                        + " which one the guest mounts is not known (give the copy a new UUID or label)");
                continue;
            }
            Optional<VolumeFacts> v = matches.stream().findFirst();
            if (v.isEmpty()) {
                if (e.hasOption("nofail")) {
                    aside.add(new SetAside(mp, e.spec(), type, "nofail and not on the VM's disks: not mounted at the snapshot's boot"));
                } else {
                    refused.add(where + ": no such file system on the VM's disks (check the spec, or attach the disk that holds it)");
                }
                continue;
            }
            VolumeFacts f = v.get();
            if (f.problem() != null) {
                refused.add(where + ": " + f.problem());
                continue;
            }
            String fsType = f.type() == null ? "" : f.type();
            if (!type.equals("auto") && !type.equals(fsType) && !(type.startsWith("ext") && fsType.startsWith("ext"))) {
                refused.add(where + ": fstab says " + type + " but " + f.volume().describe() + " holds " + (fsType.isEmpty() ? "nothing blkid knows" : fsType));
                continue;
            }
            if (!MERGED_TYPES.contains(fsType)) {
                refused.add(where + ": " + (fsType.isEmpty() ? "an unknown file system" : fsType) + " on " + f.volume().describe()
                        + " is not a file system the merge can read (" + String.join(", ", MERGED_TYPES.stream().sorted().toList()) + ")");
                continue;
            }
            if (fsType.equals("vfat") && !hostMounts.contains("vfat")) {
                aside.add(new SetAside(mp, e.spec(), fsType, "vfat (the EFI system partition): this host's kernel cannot mount vfat, so"
                        + " it is not merged; only boot loader packages (grub-efi, shim) write to it"));
                continue;
            }
            if (fsType.equals("btrfs") && (e.hasOption("subvol") || e.hasOption("subvolid"))) {
                refused.add(where + ": btrfs subvolume mounts are not merged yet");
                continue;
            }
            if (!mountPoints.add(mp)) {
                refused.add(where + ": " + mp + " is mounted twice");
                continue;
            }
            if (merged.stream().anyMatch(m -> m.volume().equals(f.volume()))) {
                refused.add(where + ": " + f.volume().describe() + " is mounted twice");
                continue;
            }
            if (mp.equals("/")) {
                rootSeen = true;
                if (!f.volume().equals(rootFs.volume())) {
                    refused.add(where + ": fstab mounts " + f.volume().describe() + " on / but this fstab was read from "
                            + rootFs.volume().describe());
                    continue;
                }
            }
            merged.add(new FileSystem(mp, fsType, e.spec(), f.volume(), f.uuid()));
        }
        if (!rootSeen && refused.isEmpty()) {
            // no "/" line (some images mount the root by the kernel's root= only): the one holding /etc/fstab
            merged.add(new FileSystem("/", rootFs.type(), "(the file system holding /etc/fstab)", rootFs.volume(), rootFs.uuid()));
        }
        if (!refused.isEmpty()) {
            throw new LayoutRefusedException(refused);
        }
        return new GuestLayout(merged, aside);
    }

    /** The volumes an fstab spec names, by UUID, label, partition UUID or label, LVM name or device name. */
    static List<VolumeFacts> find(String spec, List<VolumeFacts> found) {
        String s = spec.strip();
        Matcher m;
        if ((m = BY_LINK.matcher(s)).matches()) {
            s = m.group(1).toUpperCase(Locale.ROOT) + "=" + m.group(2);
        }
        int eq = s.indexOf('=');
        if (eq > 0 && s.substring(0, eq).matches("UUID|LABEL|PARTUUID|PARTLABEL")) {
            String key = s.substring(0, eq), value = unquote(s.substring(eq + 1));
            return found.stream().filter(f -> switch (key) {
                case "UUID" -> value.equalsIgnoreCase(f.uuid());
                case "LABEL" -> value.equals(f.label());
                case "PARTUUID" -> value.equalsIgnoreCase(f.partUuid());
                default -> value.equals(f.partLabel());
            }).toList();
        }
        if ((m = MAPPER.matcher(s)).matches()) {
            String lv = demangle(m.group(1));
            return lv == null ? List.of() : byLogicalVolume(lv, found);
        }
        if ((m = DEVICE_NAME.matcher(s)).matches()) {
            String disk = m.group(1);
            int part = m.group(2).isEmpty() ? 0 : Integer.parseInt(m.group(2));
            return found.stream().filter(f -> f.volume().logicalVolume() == null && f.volume().disk().equals(disk)
                    && f.volume().partition() == part).toList();
        }
        if ((m = VG_LV.matcher(s)).matches() && !m.group(1).equals("disk")) {
            return byLogicalVolume(m.group(1) + "/" + m.group(2), found);
        }
        return List.of();
    }

    private static List<VolumeFacts> byLogicalVolume(String vgLv, List<VolumeFacts> found) {
        return found.stream().filter(f -> vgLv.equals(f.volume().logicalVolume())).toList();
    }

    /** device-mapper names: {@code vg-lv} with each '-' inside a name doubled ({@code splab--vg-root}). */
    static String demangle(String dmName) {
        for (int i = 0; i < dmName.length(); i++) {
            if (dmName.charAt(i) == '-') {
                if (i + 1 < dmName.length() && dmName.charAt(i + 1) == '-') {
                    i++;
                    continue;
                }
                return dmName.substring(0, i).replace("--", "-") + "/" + dmName.substring(i + 1).replace("--", "-");
            }
        }
        return null;
    }

    private static String unquote(String v) {
        return v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"") ? v.substring(1, v.length() - 1) : v;
    }

    /** "/", "/boot", "/srv/data": absolute, no trailing slash, no '.', '..' or empty components; else null. */
    static String normalize(String mountPoint) {
        if (!mountPoint.startsWith("/")) {
            return null;
        }
        if (mountPoint.equals("/")) {
            return "/";
        }
        String p = mountPoint.endsWith("/") ? mountPoint.substring(0, mountPoint.length() - 1) : mountPoint;
        for (String c : p.substring(1).split("/", -1)) {
            if (c.isEmpty() || c.equals(".") || c.equals("..")) {
                return null;
            }
        }
        return p;
    }
}
