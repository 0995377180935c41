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
    public MountedImage expose(Path imagePath, String format, Access access) {
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
        long t0 = System.nanoTime();
        try {
            startExport(e);
            attachAndMount(e);
            log.info("exposed {} {} at {} in {} ms", image, access, e.mountPoint, (System.nanoTime() - t0) / 1_000_000);
            return e;
        } catch (RuntimeException ex) {
            try {
                e.close();
            } catch (RuntimeException undo) {
                ex.addSuppressed(undo);
            }
            throw ex instanceof DiskException ? ex : new DiskException("exposing " + image + " failed: " + ex.getMessage(), ex);
        }
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

    private void attachAndMount(Exposure e) {
        long[] part = rootPartition(e);
        // writable even for a read-only view: the journal replays into the throwaway overlay
        List<String> losetup = new ArrayList<>(List.of("losetup", "--find", "--show"));
        if (part != null) {
            losetup.addAll(List.of("--offset", Long.toString(part[0]), "--sizelimit", Long.toString(part[1])));
        }
        losetup.add(e.exportFile.toString());
        e.loopDevice = run("attach a loop device to " + e.image, losetup.toArray(String[]::new)).stdout().strip();
        String fsType = HostCommand.run(props.getCommandTimeout(), "blkid", "-p", "-o", "value", "-s", "TYPE", e.loopDevice)
                .stdout().strip();
        if (!LINUX_FS.contains(fsType)) {
            throw new DiskException("image " + e.image + (part == null ? "" : " partition at offset " + part[0])
                    + " holds no Linux file system (blkid says '" + fsType + "')");
        }
        // "ro" on a writable device: ext4, xfs and btrfs replay their journal (into the overlay) and
        // then serve the recovered file system read-only; never noload/norecovery
        String opts = (e.access == Access.READ_WRITE ? "rw" : "ro") + ",nosuid,nodev,noexec";
        try {
            Files.createDirectories(e.mountPoint);
        } catch (IOException ex) {
            throw new DiskException("cannot create mount point " + e.mountPoint + ": " + ex, ex);
        }
        run("mount " + fsType + " of " + e.image, "mount", "-t", fsType, "-o", opts, e.loopDevice, e.mountPoint.toString());
        e.mounted = true;
    }

    /** {offset, size} in bytes of the root partition, or null for an unpartitioned image. */
    private long[] rootPartition(Exposure e) {
        HostCommand.Result r = HostCommand.run(props.getCommandTimeout(), "sfdisk", "-J", e.exportFile.toString());
        if (!r.ok() || r.stdout().isBlank()) {
            return null; // no partition table: the file system starts at byte 0
        }
        try {
            JsonNode table = JSON.readTree(r.stdout()).path("partitiontable");
            long sector = table.path("sectorsize").asLong(512);
            List<long[]> parts = new ArrayList<>();
            int n = 0;
            for (JsonNode p : table.path("partitions")) {
                n++;
                long[] range = {p.path("start").asLong() * sector, p.path("size").asLong() * sector, n};
                if (props.getPartition() > 0) {
                    if (n == props.getPartition()) {
                        return range;
                    }
                    continue;
                }
                String type = HostCommand.run(props.getCommandTimeout(), "blkid", "-p", "-o", "value", "-s", "TYPE",
                        "-O", Long.toString(range[0]), e.exportFile.toString()).stdout().strip();
                if (LINUX_FS.contains(type)) {
                    parts.add(range);
                }
            }
            if (props.getPartition() > 0) {
                throw new DiskException("image " + e.image + " has no partition " + props.getPartition());
            }
            return parts.stream().max(Comparator.comparingLong(p -> p[1]))
                    .orElseThrow(() -> new DiskException("image " + e.image + " has a partition table but no Linux file system"));
        } catch (IOException ex) {
            throw new DiskException("cannot read the partition table of " + e.image + ": " + ex.getMessage(), ex);
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
                stale.mounted = true;
                stale.loopDevice = loopDeviceOf(stale.exportFile);
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

    private String loopDeviceOf(Path file) {
        HostCommand.Result r = HostCommand.run(props.getCommandTimeout(), "losetup", "-n", "-O", "NAME", "-j", file.toString());
        String s = r.stdout().strip();
        return s.isEmpty() ? null : s.lines().findFirst().orElse(null);
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
    final class Exposure implements MountedImage {
        final Path dir;
        final Path image;
        final Access access;
        String format = "qcow2";
        final Path exportFile;
        final Path pidFile;
        final Path mountPoint;
        Path overlay;
        String loopDevice;
        long daemonPid = -1;
        boolean mounted;
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
            return mountPoint;
        }

        public Path image() {
            return image;
        }

        public Access access() {
            return access;
        }

        /** Unmounts, detaches the loop device, stops the daemon, removes the work directory: every step is tried. */
        @Override
        public synchronized void close() {
            if (closed) {
                return;
            }
            long t0 = System.nanoTime();
            List<String> errors = new ArrayList<>();
            if (mounted || isMountPoint(mountPoint)) {
                HostCommand.Result r = null;
                for (int i = 0; i < 5 && isMountPoint(mountPoint); i++) {
                    r = HostCommand.run(props.getCommandTimeout(), "umount", mountPoint.toString());
                    if (!r.ok()) {
                        sleep(200);
                    }
                }
                if (isMountPoint(mountPoint)) {
                    errors.add("umount " + mountPoint + ": " + (r == null ? "" : r.stderr().strip()) + " (detached lazily)");
                    HostCommand.run(props.getCommandTimeout(), "umount", "-l", mountPoint.toString());
                }
                mounted = false;
            }
            if (loopDevice != null) {
                HostCommand.Result r = HostCommand.run(props.getCommandTimeout(), "losetup", "-d", loopDevice);
                if (!r.ok() && !r.stderr().contains("No such device")) {
                    errors.add("losetup -d " + loopDevice + ": " + r.stderr().strip());
                }
                loopDevice = null;
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
