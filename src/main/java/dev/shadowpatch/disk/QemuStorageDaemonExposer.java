package dev.shadowpatch.disk;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shadowpatch.virt.HostCommand;
import dev.shadowpatch.virt.Qcow2;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link DiskExposer} with {@code qemu-storage-daemon --export type=fuse} (the image as a raw file)
 * and a loop mount of its root file system. Every piece made is torn down by
 * {@link MountedImage#close()}, also when exposing fails half-way; directories left by a JVM that
 * died are reaped on the next use, and open mounts are closed at JVM exit.
 */
public class QemuStorageDaemonExposer implements DiskExposer {
    private static final Logger log = LoggerFactory.getLogger(QemuStorageDaemonExposer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> LINUX_FS = Set.of("ext4", "ext3", "ext2", "xfs", "btrfs");

    private final DiskProperties props;
    private final Set<Exposure> open = ConcurrentHashMap.newKeySet();
    private volatile boolean reaped;

    public QemuStorageDaemonExposer(DiskProperties props) {
        this.props = props;
        Runtime.getRuntime().addShutdownHook(new Thread(this::closeAll, "disk-exposer-teardown"));
    }

    @Override
    public MountedImage expose(Path image, String format, Access access) {
        Exposure e = open(image, format, access);
        long t0 = System.nanoTime();
        try {
            attachAndMount(e);
            log.info("exposed {} {} at {} in {} ms", e.image, access, e.mountPoint, (System.nanoTime() - t0) / 1_000_000);
            return e;
        } catch (RuntimeException ex) {
            throw undone(e, ex);
        }
    }

    @Override
    public GuestLayout readLayout(java.util.Map<String, Path> disks, java.util.Map<String, String> formats, Access access) {
        List<Exposure> opened = new ArrayList<>();
        try {
            List<VolumeFacts> found = new ArrayList<>();
            java.util.Map<VolumeFacts, Exposure> where = new java.util.HashMap<>();
            for (var disk : new java.util.TreeMap<>(disks).entrySet()) {
                Exposure e = open(disk.getValue(), formats.getOrDefault(disk.getKey(), "qcow2"), access);
                opened.add(e);
                for (VolumeFacts f : probe(e, disk.getKey())) {
                    found.add(f);
                    where.put(f, e);
                }
            }
            List<VolumeFacts> candidates = found.stream()
                    .filter(f -> f.problem() == null && f.type() != null && LINUX_FS.contains(f.type()))
                    // the installer's root volume first, then the largest: the first holding /etc/fstab wins
                    .sorted(Comparator.comparing((VolumeFacts f) -> !"root".equals(lvName(f))).thenComparing(f -> -f.size()))
                    .toList();
            // the first candidate whose fstab resolves with itself as the root wins; a backup copy of
            // a root (its fstab naming the real one) or one that does not mount is passed over, and said
            int n = 0;
            List<String> passedOver = new ArrayList<>();
            LayoutResolver.LayoutRefusedException firstRefusal = null;
            for (VolumeFacts candidate : candidates) {
                Exposure e = where.get(candidate);
                Path dir = e.dir.resolve("probe-" + n++);
                Optional<String> fstab;
                try {
                    mountVolume(e, candidate, dir, "ro");
                    fstab = readGuestFile(dir, "etc", "fstab");
                    unmount(e, dir);
                } catch (DiskException ex) {
                    passedOver.add(candidate.volume().describe() + ": " + ex.getMessage());
                    continue;
                }
                if (fstab.isEmpty()) {
                    continue;
                }
                try {
                    GuestLayout layout = LayoutResolver.resolve(Fstab.parse(fstab.get()), found, candidate, hostFileSystems());
                    log.info("layout of {}: {}", disks, layout.describe());
                    return layout;
                } catch (LayoutResolver.LayoutRefusedException refused) {
                    firstRefusal = firstRefusal == null ? refused : firstRefusal;
                } catch (IllegalArgumentException bad) {
                    firstRefusal = firstRefusal == null ? new LayoutResolver.LayoutRefusedException(List.of(bad.getMessage())) : firstRefusal;
                }
            }
            if (firstRefusal != null) {
                throw firstRefusal;
            }
            throw new LayoutResolver.LayoutRefusedException(List.of("no Linux file system on the VM's disks " + disks.keySet()
                    + " holds a regular /etc/fstab of at most 1 MiB (a link is not followed); found: " + (found.isEmpty() ? "nothing" : found.stream()
                    .map(f -> f.volume().describe() + " " + (f.type() == null ? "(unknown)" : f.type())
                            + (f.problem() == null ? "" : " (" + f.problem() + ")")).toList())
                    + (passedOver.isEmpty() ? "" : "; not mountable: " + passedOver)));
        } finally {
            List<String> errors = new ArrayList<>();
            for (Exposure e : opened) {
                try {
                    e.close();
                } catch (RuntimeException ex) {
                    errors.add(ex.getMessage());
                }
            }
            if (!errors.isEmpty()) {
                log.error("teardown after reading the layout of {} incomplete: {}", disks, errors);
            }
        }
    }

    @Override
    public MountedDisk exposeFileSystems(Path image, String format, Access access, GuestLayout layout, String diskTarget) {
        Exposure e = open(image, format, access);
        long t0 = System.nanoTime();
        try {
            List<VolumeFacts> found = probe(e, diskTarget);
            for (GuestLayout.FileSystem fs : layout.on(diskTarget)) {
                VolumeFacts v = found.stream().filter(f -> f.volume().equals(fs.volume())).findFirst()
                        .orElseThrow(() -> new DiskException("disk " + diskTarget + " (" + e.image + ") has no " + fs.volume().describe()
                                + " any more, where " + fs.mountPoint() + " was: its layout changed since it was read"));
                if (v.problem() != null) {
                    throw new DiskException(fs.mountPoint() + " on " + fs.volume().describe() + " of " + e.image + ": " + v.problem());
                }
                if (fs.uuid() != null && !fs.uuid().equalsIgnoreCase(v.uuid())) {
                    throw new DiskException(fs.volume().describe() + " of " + e.image + " holds file system " + v.uuid()
                            + ", not " + fs.uuid() + " (" + fs.mountPoint() + "): its layout changed since it was read");
                }
                Path dir = e.dir.resolve("fs").resolve(fs.key());
                mountVolume(e, v, dir, e.access == Access.READ_WRITE ? "rw" : "ro");
                e.roots.put(fs.mountPoint(), dir);
            }
            log.info("exposed {} file system(s) of {} {} in {} ms", e.roots.size(), e.image, access, (System.nanoTime() - t0) / 1_000_000);
            return e;
        } catch (RuntimeException ex) {
            throw undone(e, ex);
        }
    }

    @Override
    public List<String> unmergedWrites(Path delta, GuestLayout layout, String diskTarget, BootLoaderArea.Copy bootLoader) {
        Path image = delta.toAbsolutePath().normalize();
        Written written = written(image);
        if (written.ranges().isEmpty()) {
            return List.of();
        }
        try (Exposure e = open(image, "qcow2", Access.READ_ONLY)) {
            java.util.Set<GuestLayout.Volume> merged = new java.util.HashSet<>();
            layout.on(diskTarget).forEach(fs -> merged.add(fs.volume()));
            List<long[]> carried = bootLoader != null && bootLoader.carried() ? BootLoaderArea.covered(table(e)) : List.of();
            return UnmergedWrites.find(written.ranges(), probe(e, diskTarget), merged, written.cluster(), carried);
        }
    }

    @Override
    public BootLoaderArea.Copy bootLoaderCopy(Path shadowDelta, Path liveDelta, Access liveAccess, String diskTarget) {
        Written shadow = written(shadowDelta.toAbsolutePath().normalize());
        if (shadow.ranges().isEmpty()) {
            return BootLoaderArea.Copy.none(diskTarget);
        }
        BootLoaderArea.Table shadowTable, liveTable;
        try (Exposure e = open(shadowDelta, "qcow2", Access.READ_ONLY)) {
            shadowTable = table(e);
        }
        try (Exposure e = open(liveDelta, "qcow2", liveAccess)) {
            liveTable = table(e);
        }
        return BootLoaderArea.decide(diskTarget, shadow.ranges(), written(liveDelta.toAbsolutePath().normalize()).ranges(),
                shadowTable, liveTable);
    }

    @Override
    public void writeBootLoader(Path shadowDelta, Path mergeOverlay, BootLoaderArea.Copy copy) {
        if (!copy.carried()) {
            throw new DiskException("the boot loader of " + shadowDelta + " is not to be copied: " + copy.describe());
        }
        try (Exposure from = open(shadowDelta, "qcow2", Access.READ_ONLY);
             Exposure to = open(mergeOverlay, "qcow2", Access.READ_WRITE);
             var in = java.nio.channels.FileChannel.open(from.exportFile, java.nio.file.StandardOpenOption.READ);
             var out = java.nio.channels.FileChannel.open(to.exportFile, java.nio.file.StandardOpenOption.WRITE)) {
            for (long[] r : copy.ranges()) {
                java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(Math.toIntExact(r[1] - r[0]));
                while (buf.hasRemaining() && in.read(buf, r[0] + buf.position()) >= 0) { }
                if (buf.hasRemaining()) {
                    throw new DiskException("the shadow's disk " + shadowDelta + " ends before byte " + r[1]);
                }
                buf.flip();
                while (buf.hasRemaining()) {
                    out.write(buf, r[0] + buf.position());
                }
            }
            out.force(true);
        } catch (IOException ex) {
            throw new DiskException("copying the boot loader of " + shadowDelta + " into " + mergeOverlay + " failed: " + ex, ex);
        }
        log.info("{}: copied {} byte(s) of the shadow's boot loader into {}", copy.disk(), copy.bytes(), mergeOverlay);
    }

    /** The byte ranges {start, length} a qcow2 delta holds data of its own for, and its cluster size. */
    private record Written(List<long[]> ranges, long cluster) {}

    private Written written(Path image) {
        String map = run("map the clusters of " + image, props.getQemuImg(), "map", "-U", "-f", "qcow2", "--output=json", image.toString()).stdout();
        List<long[]> written = new ArrayList<>();
        try {
            for (JsonNode n : JSON.readTree(map)) {
                if (n.path("depth").asInt(1) == 0 && n.path("present").asBoolean()) {
                    written.add(new long[] {n.path("start").asLong(), n.path("length").asLong()});
                }
            }
            long cluster = JSON.readTree(run("read the cluster size of " + image, props.getQemuImg(), "info", "-U", "-f", "qcow2",
                    "--output=json", image.toString()).stdout()).path("cluster-size").asLong(65536);
            return new Written(written, cluster);
        } catch (IOException ex) {
            throw new DiskException("unreadable qemu-img output for " + image + ": " + ex.getMessage(), ex);
        }
    }

    /** The exported disk's partition table (sfdisk's JSON), or null for a disk without one. */
    private BootLoaderArea.Table table(Exposure e) {
        HostCommand.Result r = HostCommand.run(props.getCommandTimeout(), "sfdisk", "-J", e.exportFile.toString());
        if (!r.ok() || r.stdout().isBlank()) {
            return null;
        }
        try {
            JsonNode t = JSON.readTree(r.stdout()).path("partitiontable");
            long sector = t.path("sectorsize").asLong(512);
            List<BootLoaderArea.Partition> parts = new ArrayList<>();
            for (JsonNode p : t.path("partitions")) {
                int number = Integer.parseInt(p.path("node").asText().replaceFirst("^.*?(\\d+)$", "$1"));
                parts.add(new BootLoaderArea.Partition(number, p.path("start").asLong() * sector, p.path("size").asLong() * sector,
                        p.path("type").asText(""), p.path("uuid").asText(null), p.path("name").asText(null)));
            }
            return new BootLoaderArea.Table(t.path("label").asText(), t.path("id").asText(null), parts);
        } catch (IOException ex) {
            throw new DiskException("cannot read the partition table of " + e.image + ": " + ex.getMessage(), ex);
        }
    }

    /** Starts the export of an image: its disk as a raw file in a fresh work directory. */
    private Exposure open(Path imagePath, String format, Access access) {
        Path image = imagePath.toAbsolutePath().normalize();
        if (!Files.isRegularFile(image)) {
            throw new DiskException("image " + image + " does not exist or is not a regular file");
        }
        checkFormat(image, format);
        reapStale();
        Exposure e;
        try {
            Files.createDirectories(props.getWorkDir());
            e = new Exposure(Files.createTempDirectory(props.getWorkDir(), "img-"), image, access);
            e.format = format;
            Files.writeString(e.dir.resolve("owner"), ProcessHandle.current().pid() + "\n" + image + "\n");
        } catch (IOException ex) {
            throw new DiskException("cannot create a work directory under " + props.getWorkDir() + ": " + ex, ex);
        }
        open.add(e);
        try {
            startExport(e);
            return e;
        } catch (RuntimeException ex) {
            throw undone(e, ex);
        }
    }

    /** Tears down what was made for a failed exposure; the failure is what the caller sees. */
    private static DiskException undone(Exposure e, RuntimeException ex) {
        try {
            e.close();
        } catch (RuntimeException undo) {
            ex.addSuppressed(undo);
        }
        return ex instanceof DiskException d ? d : new DiskException("exposing " + e.image + " failed: " + ex.getMessage(), ex);
    }

    /** Tears down every exposure of this exposer still open (JVM exit, context close). */
    public void closeAll() {
        for (Exposure e : List.copyOf(open)) {
            try {
                e.close();
            } catch (RuntimeException ex) {
                log.error("teardown of {} failed: {}", e.image, ex.getMessage());
            }
        }
    }

    // ------------------------------------------------------------------ steps

    private void startExport(Exposure e) {
        // Every read-only view goes through a throwaway overlay, so a dirty journal (a VM destroyed
        // without a clean shutdown, a snapshot without a guest agent's freeze) is replayed into it
        // on mount: the merge never reads a file system the VMs never had. The image stays as it is.
        boolean writable = true;
        List<String> argv = new ArrayList<>(List.of(props.getQemuStorageDaemon()));
        if (e.access != Access.READ_WRITE) {
            boolean running = e.access == Access.SNAPSHOT_OF_RUNNING;
            long size = virtualSize(e.image, e.format);
            e.overlay = e.dir.resolve("view.qcow2");
            run("create the throwaway overlay for " + e.image, props.getQemuImg(), "create", "-q", "-f", "qcow2", "-F", e.format,
                    "-u", "-b", e.image.toString(), e.overlay.toString(), Long.toString(size));
            ObjectNode file = blockdev("file", "bf", e.image, true);
            ObjectNode image = formatNode(e.format, "b", "bf", true);
            if (running) {
                // a VM still writes the image: read it without taking QEMU's image lock
                file.put("locking", "off");
                image.put("force-share", true);
            }
            argv.addAll(List.of("--blockdev", file.toString()));
            argv.addAll(List.of("--blockdev", image.toString()));
            argv.addAll(List.of("--blockdev", blockdev("file", "of", e.overlay, false).toString()));
            argv.addAll(List.of("--blockdev", qcow2("q", "of", false, "b").toString()));
        } else {
            argv.addAll(List.of("--blockdev", blockdev("file", "f", e.image, !writable).toString()));
            argv.addAll(List.of("--blockdev", formatNode(e.format, "q", "f", !writable).toString()));
        }
        try {
            Files.createFile(e.exportFile);
        } catch (IOException ex) {
            throw new DiskException("cannot create the export file " + e.exportFile + ": " + ex, ex);
        }
        ObjectNode export = JSON.createObjectNode().put("type", "fuse").put("id", "e").put("node-name", "q")
                .put("mountpoint", e.exportFile.toString()).put("writable", writable);
        argv.addAll(List.of("--export", export.toString(), "--daemonize", "--pidfile", e.pidFile.toString()));
        run("start qemu-storage-daemon for " + e.image + " (" + e.access + ")", argv.toArray(String[]::new));
        try {
            e.daemonPid = Long.parseLong(Files.readString(e.pidFile).strip());
        } catch (IOException | NumberFormatException ex) {
            throw new DiskException("qemu-storage-daemon for " + e.image + " wrote no pid file " + e.pidFile, ex);
        }
    }

    /** The image's root file system (the configured partition, else the largest Linux one) on {@code e.mountPoint}. */
    private void attachAndMount(Exposure e) {
        List<VolumeFacts> volumes = probe(e, "disk", false);
        boolean partitioned = volumes.get(0).volume().partition() > 0;
        VolumeFacts root;
        if (props.getPartition() > 0) {
            root = volumes.stream().filter(v -> v.volume().partition() == props.getPartition()).findFirst()
                    .orElseThrow(() -> new DiskException("image " + e.image + " has no partition " + props.getPartition()));
        } else {
            root = volumes.stream().filter(v -> v.type() != null && LINUX_FS.contains(v.type())).max(Comparator.comparingLong(VolumeFacts::size))
                    .orElse(volumes.get(0));
        }
        if (root.type() == null || !LINUX_FS.contains(root.type())) {
            throw new DiskException(partitioned && props.getPartition() == 0
                    ? "image " + e.image + " has a partition table but no Linux file system"
                    : "image " + e.image + (partitioned ? " partition at offset " + root.offset() : "")
                      + " holds no Linux file system (blkid says '" + (root.type() == null ? "" : root.type()) + "')");
        }
        // "ro" on a writable device: ext4, xfs and btrfs replay their journal (into the overlay) and
        // then serve the recovered file system read-only; never noload/norecovery
        mountVolume(e, root, e.mountPoint, e.access == Access.READ_WRITE ? "rw" : "ro");
    }

    // ------------------------------------------------------------------ file systems of a layout

    /**
     * Everything on the disk: its partitions (or the whole disk when it has no table), and the
     * logical volumes of every LVM physical volume among them, each with what blkid finds there.
     */
    private List<VolumeFacts> probe(Exposure e, String disk) {
        return probe(e, disk, true);
    }

    /** @param logicalVolumes whether to read the logical volumes of LVM physical volumes too */
    private List<VolumeFacts> probe(Exposure e, String disk, boolean logicalVolumes) {
        List<VolumeFacts> out = new ArrayList<>();
        long diskSize;
        try {
            diskSize = Files.size(e.exportFile);
        } catch (IOException ex) {
            throw new DiskException("cannot read the size of the export of " + e.image + ": " + ex, ex);
        }
        BootLoaderArea.Table table = table(e);
        if (table == null || table.partitions().isEmpty()) {
            out.add(facts(e, new GuestLayout.Volume(disk, 0, null), 0, diskSize, null, null));
        } else {
            boolean dos = "dos".equals(table.label());
            String diskId = table.id() == null ? "" : table.id().replaceFirst("^0x", "").toLowerCase(java.util.Locale.ROOT);
            for (BootLoaderArea.Partition p : table.partitions()) {
                String partUuid = dos ? (diskId.isEmpty() ? null : diskId + "-" + String.format("%02x", p.number())) : p.uuid();
                out.add(facts(e, new GuestLayout.Volume(disk, p.number(), null), p.start(), p.size(), partUuid, p.name()));
            }
        }
        List<VolumeFacts> lvs = new ArrayList<>();
        for (VolumeFacts pv : out) {
            if (logicalVolumes && "LVM2_member".equals(pv.type())) {
                lvs.addAll(logicalVolumes(e, pv));
            }
        }
        out.addAll(lvs);
        return out;
    }

    private VolumeFacts facts(Exposure e, GuestLayout.Volume volume, long offset, long size, String partUuid, String partLabel) {
        HostCommand.Result r = HostCommand.run(props.getCommandTimeout(), "blkid", "-p", "-o", "export", "-O", Long.toString(offset),
                "-S", Long.toString(size), e.exportFile.toString());
        java.util.Map<String, String> tags = new java.util.HashMap<>();
        for (String line : r.stdout().split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                tags.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return new VolumeFacts(volume, offset, size, tags.get("TYPE"), tags.get("UUID"), tags.get("LABEL"), partUuid, partLabel, null);
    }

    /**
     * The logical volumes of one physical volume, read with LVM's own tools restricted to a loop
     * device over just that partition ({@code --devices}, {@code --readonly}): the host never scans,
     * activates or writes a guest volume group, so a guest VG named like one of the host's is harmless.
     * Nothing is activated at all: a logical volume in one contiguous run of extents is exposed as a
     * loop device over its bytes (this host has no device-mapper); one in pieces is named as such.
     */
    private List<VolumeFacts> logicalVolumes(Exposure e, VolumeFacts pv) {
        String loop = run("attach a loop device to LVM physical volume " + pv.volume().describe() + " of " + e.image,
                "losetup", "--find", "--show", "--read-only", "--offset", Long.toString(pv.offset()), "--sizelimit",
                Long.toString(pv.size()), e.exportFile.toString()).stdout().strip();
        e.loops.add(loop);
        try {
            String config = "devices { scan_lvs = 0 } global { use_lvmpolld = 0 } activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }";
            String peStart = run("read the LVM physical volume of " + e.image, "pvs", "--devices", loop, "--readonly", "--config", config,
                    "--noheadings", "--units", "b", "--nosuffix", "-o", "pe_start").stdout().strip();
            String json = run("read the LVM logical volumes of " + e.image, "lvs", "--devices", loop, "--readonly", "--config", config,
                    "--reportformat", "json", "--units", "b", "--nosuffix",
                    "-o", "vg_name,lv_name,segtype,stripes,seg_start,seg_size,seg_pe_ranges,vg_extent_size,lv_size").stdout();
            if (peStart.isBlank()) {
                throw new DiskException("LVM does not see the physical volume " + pv.volume().describe() + " of " + e.image
                        + " (pvs printed nothing for " + loop + "; a host filter in lvm.conf?)");
            }
            long dataStart = pv.offset() + Long.parseLong(peStart.lines().findFirst().orElseThrow().strip());
            java.util.Map<String, List<JsonNode>> segments = new java.util.LinkedHashMap<>();
            for (JsonNode report : JSON.readTree(json).path("report")) {
                for (JsonNode seg : report.path("lv")) {
                    segments.computeIfAbsent(seg.path("vg_name").asText() + "/" + seg.path("lv_name").asText(), k -> new ArrayList<>()).add(seg);
                }
            }
            List<VolumeFacts> out = new ArrayList<>();
            for (var lv : segments.entrySet()) {
                GuestLayout.Volume volume = new GuestLayout.Volume(pv.volume().disk(), pv.volume().partition(), lv.getKey());
                long[] range = contiguous(lv.getValue(), dataStart, loop);
                JsonNode first = lv.getValue().get(0);
                if (range == null) {
                    out.add(new VolumeFacts(volume, -1, first.path("lv_size").asLong(), null, null, null, null, null,
                            "logical volume " + lv.getKey() + " is not one contiguous linear run of extents (" + lv.getValue().size()
                                    + " segment(s), type " + first.path("segtype").asText() + ", on " + first.path("seg_pe_ranges").asText()
                                    + " and beyond): only a contiguous linear volume on one physical volume is exposed (no device-mapper is used)"));
                } else {
                    out.add(facts(e, volume, range[0], range[1], null, null));
                }
            }
            return out;
        } catch (IOException | RuntimeException ex) {
            if (ex instanceof DiskException d) {
                throw d;
            }
            throw new DiskException("cannot read the LVM metadata of " + pv.volume().describe() + " of " + e.image + ": " + ex.getMessage(), ex);
        } finally {
            HostCommand.run(props.getCommandTimeout(), "losetup", "-d", loop);
            e.loops.remove(loop);
        }
    }

    /**
     * {offset, size} in the disk of a logical volume whose linear segments follow each other on this
     * one PV ({@code pvDevice}), else null: a segment on another PV (a VG over several) is never
     * mapped onto this one's bytes.
     */
    static long[] contiguous(List<JsonNode> segments, long dataStart, String pvDevice) {
        long offset = -1, size = 0, nextPe = -1;
        for (JsonNode seg : segments) {
            if (!"linear".equals(seg.path("segtype").asText())) {
                return null;
            }
            String ranges = seg.path("seg_pe_ranges").asText().strip();
            if (ranges.contains(" ")) {
                return null;
            }
            if (!ranges.startsWith(pvDevice + ":")) {
                return null;
            }
            String[] pe = ranges.substring(ranges.lastIndexOf(':') + 1).split("-");
            long from = Long.parseLong(pe[0]), to = Long.parseLong(pe[1]);
            long extent = seg.path("vg_extent_size").asLong();
            if (nextPe >= 0 && from != nextPe) {
                return null;
            }
            if (offset < 0) {
                offset = dataStart + from * extent;
            }
            size += (to - from + 1) * extent;
            nextPe = to + 1;
        }
        return offset < 0 ? null : new long[] {offset, size};
    }

    /** The file system types this host's kernel can mount (/proc/filesystems). */
    static Set<String> hostFileSystems() {
        java.util.Set<String> types = new java.util.HashSet<>();
        try {
            Files.readAllLines(Path.of("/proc/filesystems")).forEach(l -> types.add(l.replaceFirst("^nodev", "").strip()));
        } catch (IOException ex) {
            types.add("ext4");
        }
        // a type not registered yet is there when its module is: mount loads it on demand
        Path modules = Path.of("/lib/modules", System.getProperty("os.version", ""));
        for (String index : new String[] {"modules.dep", "modules.builtin"}) {
            try {
                if (Files.readString(modules.resolve(index)).contains("fs/fat/vfat.ko")) {
                    types.add("vfat");
                }
            } catch (IOException | RuntimeException absent) {
                // no module index for this kernel: /proc/filesystems is all there is
            }
        }
        return Set.copyOf(types);
    }

    private static String lvName(VolumeFacts f) {
        String lv = f.volume().logicalVolume();
        return lv == null ? null : lv.substring(lv.indexOf('/') + 1);
    }

    /** A loop device over the volume's bytes, its file system mounted on dir (nosuid,nodev,noexec). */
    private void mountVolume(Exposure e, VolumeFacts v, Path dir, String mode) {
        if (v.type() == null || !(LINUX_FS.contains(v.type()) || v.type().equals("vfat"))) {
            throw new DiskException(v.volume().describe() + " of " + e.image + " holds no file system the merge reads (blkid says '"
                    + v.type() + "')");
        }
        String loop = run("attach a loop device to " + v.volume().describe() + " of " + e.image, "losetup", "--find", "--show",
                "--offset", Long.toString(v.offset()), "--sizelimit", Long.toString(v.size()), e.exportFile.toString()).stdout().strip();
        e.loops.add(loop);
        // base, shadow and live views of one file system carry one UUID: xfs refuses the second mount without nouuid
        String opts = mode + ",nosuid,nodev,noexec" + (v.type().equals("vfat") ? ",uid=0,gid=0,fmask=0077,dmask=0077" : "")
                + (v.type().equals("xfs") ? ",nouuid" : "");
        try {
            Files.createDirectories(dir);
        } catch (IOException ex) {
            throw new DiskException("cannot create mount point " + dir + ": " + ex, ex);
        }
        e.mounts.add(dir);
        run("mount " + v.type() + " of " + v.volume().describe() + " of " + e.image, "mount", "-t", v.type(), "-o", opts, loop, dir.toString());
    }

    private void unmount(Exposure e, Path dir) {
        run("unmount " + dir, "umount", dir.toString());
        e.mounts.remove(dir);
    }

    /** A small regular file of a guest tree, reached without following a link; empty when it is not one. */
    static Optional<String> readGuestFile(Path root, String... components) {
        Path p = root;
        try {
            for (int i = 0; i < components.length; i++) {
                p = p.resolve(components[i]);
                java.nio.file.attribute.BasicFileAttributes a = Files.readAttributes(p,
                        java.nio.file.attribute.BasicFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
                boolean last = i == components.length - 1;
                if (last ? !a.isRegularFile() || a.size() > 1 << 20 : !a.isDirectory()) {
                    return Optional.empty();
                }
            }
            return Optional.of(new String(Files.readAllBytes(p), StandardCharsets.UTF_8)); // malformed bytes replaced, never fatal
        } catch (IOException ex) {
            return Optional.empty();
        }
    }


    private long virtualSize(Path image, String format) {
        String out = run("read the size of " + image, props.getQemuImg(), "info", "-U", "-f", format, "--output=json",
                image.toString()).stdout();
        try {
            return JSON.readTree(out).path("virtual-size").asLong();
        } catch (IOException ex) {
            throw new DiskException("unreadable qemu-img info for " + image, ex);
        }
    }

    private static ObjectNode blockdev(String driver, String node, Path file, boolean readOnly) {
        return JSON.createObjectNode().put("driver", driver).put("node-name", node).put("filename", file.toString())
                .put("read-only", readOnly);
    }

    /**
     * The image's format, checked without probing: qcow2 must carry its magic; raw is taken as the
     * caller declared it (from the domain XML), whatever its first bytes say, as they are the guest's.
     */
    private static void checkFormat(Path image, String format) {
        if ("raw".equals(format)) {
            return;
        }
        if (!"qcow2".equals(format)) {
            throw new DiskException("image " + image + " is declared " + format + ": only qcow2 and raw images are exposed");
        }
        try {
            if (!Qcow2.isQcow2(image)) {
                throw new DiskException("image " + image + " is not qcow2 (only qcow2 and raw images are exposed; the format is never probed)");
            }
        } catch (java.io.UncheckedIOException ex) {
            throw new DiskException(ex.getMessage(), ex);
        }
    }

    /** The format node on {@code file}: the image's own driver, its backing chain never opened from a raw file. */
    private static ObjectNode formatNode(String format, String node, String file, boolean readOnly) {
        return "raw".equals(format) ? JSON.createObjectNode().put("driver", "raw").put("node-name", node).put("file", file)
                .put("read-only", readOnly) : qcow2(node, file, readOnly, null);
    }

    private static ObjectNode qcow2(String node, String file, boolean readOnly, String backing) {
        ObjectNode n = JSON.createObjectNode().put("driver", "qcow2").put("node-name", node).put("file", file)
                .put("read-only", readOnly);
        if (backing != null) {
            n.put("backing", backing);
        }
        return n;
    }

    private HostCommand.Result run(String what, String... argv) {
        try {
            return HostCommand.run(props.getCommandTimeout(), argv).orThrow(what);
        } catch (HostCommand.HostCommandException ex) {
            throw new DiskException(ex.getMessage(), ex);
        }
    }

    // ------------------------------------------------------------------ teardown

    /** Work directories whose owning JVM is gone: tear down what they still hold. */
    private void reapStale() {
        if (reaped) {
            return;
        }
        reaped = true;
        if (!Files.isDirectory(props.getWorkDir())) {
            return;
        }
        try (Stream<Path> dirs = Files.list(props.getWorkDir())) {
            for (Path d : dirs.filter(p -> p.getFileName().toString().startsWith("img-")).toList()) {
                long owner = -1;
                try {
                    owner = Long.parseLong(Files.readAllLines(d.resolve("owner")).get(0).strip());
                } catch (IOException | RuntimeException ignored) {
                    // no owner: left half-made, reap it
                }
                if (owner > 0 && ProcessHandle.of(owner).map(ProcessHandle::isAlive).orElse(false)) {
                    continue;
                }
                log.warn("reaping {} left by a process that is gone", d);
                Exposure stale = new Exposure(d, null, null);
                stale.mounts.addAll(mountsUnder(d));
                stale.loops.addAll(loopDevicesOf(stale.exportFile));
                try {
                    stale.daemonPid = Long.parseLong(Files.readString(stale.pidFile).strip());
                } catch (IOException | NumberFormatException ignored) {
                    // no daemon recorded
                }
                try {
                    stale.close();
                } catch (RuntimeException ex) {
                    log.error("reaping {} failed: {}", d, ex.getMessage());
                }
            }
        } catch (IOException ex) {
            log.warn("cannot list {}: {}", props.getWorkDir(), ex.getMessage());
        }
    }

    private List<String> loopDevicesOf(Path file) {
        HostCommand.Result r = HostCommand.run(props.getCommandTimeout(), "losetup", "-n", "-O", "NAME", "-j", file.toString());
        return r.stdout().lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
    }

    /** Mount points below dir, parents first (the caller unmounts in reverse). */
    static List<Path> mountsUnder(Path dir) {
        List<Path> out = new ArrayList<>();
        try {
            String prefix = dir.toAbsolutePath() + "/";
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8)) {
                String[] f = line.split(" ");
                if (f.length > 4) {
                    String target = unescape(f[4]);
                    if (target.startsWith(prefix) && !target.equals(dir.resolve("disk.raw").toString())) {
                        out.add(Path.of(target));
                    }
                }
            }
        } catch (IOException ignored) {
            // no mountinfo: nothing known to be mounted
        }
        out.sort(Comparator.comparingInt(Path::getNameCount));
        return out;
    }

    static boolean isMountPoint(Path p) {
        try {
            String target = p.toAbsolutePath().toString();
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8)) {
                String[] f = line.split(" ");
                if (f.length > 4 && unescape(f[4]).equals(target)) {
                    return true;
                }
            }
        } catch (IOException ignored) {
            // no mountinfo: assume not mounted
        }
        return false;
    }

    private static String unescape(String s) {
        return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
    }

    /** One exposed image and everything made for it, torn down in reverse order by {@link #close()}. */
    final class Exposure implements MountedDisk {
        final Path dir;
        final Path image;
        final Access access;
        String format = "qcow2";
        final Path exportFile;
        final Path pidFile;
        final Path mountPoint;
        /** Mount points and loop devices made, in order; torn down in reverse. */
        final List<Path> mounts = new java.util.concurrent.CopyOnWriteArrayList<>();
        final List<String> loops = new java.util.concurrent.CopyOnWriteArrayList<>();
        /** Guest mount point -> where it is mounted here ({@link #exposeFileSystems}). */
        final java.util.Map<String, Path> roots = new java.util.concurrent.ConcurrentSkipListMap<>();
        Path overlay;
        long daemonPid = -1;
        private boolean closed;

        Exposure(Path dir, Path image, Access access) {
            this.dir = dir;
            this.image = image;
            this.access = access;
            this.exportFile = dir.resolve("disk.raw");
            this.pidFile = dir.resolve("qsd.pid");
            this.mountPoint = dir.resolve("root");
        }

        @Override
        public Path root() {
            return roots.isEmpty() ? mountPoint : root("/");
        }

        @Override
        public Path root(String guestMountPoint) {
            Path p = roots.get(guestMountPoint);
            if (p == null) {
                throw new IllegalArgumentException(image + " has no file system mounted at " + guestMountPoint + " exposed");
            }
            return p;
        }

        @Override
        public java.util.Set<String> mountPoints() {
            return java.util.Set.copyOf(roots.keySet());
        }

        public Path image() {
            return image;
        }

        public Access access() {
            return access;
        }

        /** Unmounts, detaches the loop devices, stops the daemon, removes the work directory: every step is tried. */
        @Override
        public synchronized void close() {
            if (closed) {
                return;
            }
            long t0 = System.nanoTime();
            List<String> errors = new ArrayList<>();
            List<Path> toUnmount = new ArrayList<>(mounts);
            java.util.Collections.reverse(toUnmount);
            for (Path m : toUnmount) {
                HostCommand.Result r = null;
                for (int i = 0; i < 5 && isMountPoint(m); i++) {
                    r = HostCommand.run(props.getCommandTimeout(), "umount", m.toString());
                    if (!r.ok()) {
                        sleep(200);
                    }
                }
                if (isMountPoint(m)) {
                    errors.add("umount " + m + ": " + (r == null ? "" : r.stderr().strip()) + " (detached lazily)");
                    HostCommand.run(props.getCommandTimeout(), "umount", "-l", m.toString());
                }
                mounts.remove(m);
            }
            List<String> toDetach = new ArrayList<>(loops);
            java.util.Collections.reverse(toDetach);
            for (String loop : toDetach) {
                HostCommand.Result r = HostCommand.run(props.getCommandTimeout(), "losetup", "-d", loop);
                if (!r.ok() && !r.stderr().contains("No such device")) {
                    errors.add("losetup -d " + loop + ": " + r.stderr().strip());
                }
                loops.remove(loop);
            }
            if (daemonPid > 0) {
                stopDaemon(daemonPid, errors);
                daemonPid = -1;
            }
            if (isMountPoint(exportFile)) { // the daemon died without removing its FUSE mount
                HostCommand.run(props.getCommandTimeout(), "umount", "-l", exportFile.toString());
            }
            try {
                deleteTree(dir);
            } catch (IOException ex) {
                errors.add("remove " + dir + ": " + ex);
            }
            closed = true;
            open.remove(this);
            log.info("released {} {} in {} ms", image, access, (System.nanoTime() - t0) / 1_000_000);
            if (!errors.isEmpty()) {
                throw new DiskException("teardown of " + (image == null ? dir : image) + " incomplete: " + String.join("; ", errors));
            }
        }

        private void stopDaemon(long pid, List<String> errors) {
            var handle = ProcessHandle.of(pid).filter(h -> h.info().command().map(c -> c.contains("qemu-storage-daemon")).orElse(true));
            if (handle.isEmpty()) {
                return;
            }
            handle.get().destroy();
            if (!exited(handle.get(), 10_000)) {
                handle.get().destroyForcibly();
                if (!exited(handle.get(), 5_000)) {
                    errors.add("qemu-storage-daemon " + pid + " does not exit");
                }
            }
        }

        /**
         * Whether the daemon has exited, polled every 10 ms. A zombie counts as exited: it has closed
         * its image, released its locks and removed its FUSE mount; only its reaping is left, which
         * is up to init (the daemon is not our child), and a slow init took ~2 s per image here,
         * three images per merge, all of it inside the maintenance window.
         */
        private static boolean exited(ProcessHandle handle, long timeoutMillis) {
            long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
            while (handle.isAlive() && !isZombie(handle.pid())) {
                if (System.nanoTime() > deadline) {
                    return false;
                }
                sleep(10);
            }
            return true;
        }

        @Override
        public String toString() {
            return image + " (" + access + ") at " + mountPoint;
        }
    }

    private static boolean isZombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            int end = stat.lastIndexOf(')'); // the command name may contain spaces and parentheses
            return end > 0 && end + 2 < stat.length() && stat.charAt(end + 2) == 'Z';
        } catch (IOException e) {
            return true; // no /proc entry: gone
        }
    }

    /** Removes only what an exposure makes, never recursing: a mount that could not be detached is never walked. */
    private static void deleteTree(Path dir) throws IOException {
        Path fs = dir.resolve("fs");
        if (Files.isDirectory(fs, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            try (Stream<Path> each = Files.list(fs)) {
                for (Path p : each.toList()) {
                    if (!isMountPoint(p)) {
                        Files.deleteIfExists(p);
                    }
                }
            }
            Files.deleteIfExists(fs);
        }
        try (Stream<Path> each = Files.list(dir)) {
            for (Path p : each.filter(p -> p.getFileName().toString().startsWith("probe-")).toList()) {
                if (!isMountPoint(p)) {
                    Files.deleteIfExists(p);
                }
            }
        }
        for (String f : new String[] {"view.qcow2", "qsd.pid", "owner", "disk.raw", "root"}) {
            Path p = dir.resolve(f);
            if (!isMountPoint(p)) {
                Files.deleteIfExists(p);
            }
        }
        Files.deleteIfExists(dir);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }
}
