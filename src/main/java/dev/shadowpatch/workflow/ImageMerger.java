package dev.shadowpatch.workflow;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shadowpatch.disk.BootLoaderArea;
import dev.shadowpatch.disk.DiskExposer;
import dev.shadowpatch.disk.DiskExposer.Access;
import dev.shadowpatch.disk.GuestLayout;
import dev.shadowpatch.disk.MountedDisk;
import dev.shadowpatch.disk.MountedImage;
import dev.shadowpatch.online.OnlinePayload;
import dev.shadowpatch.online.OnlinePlan;
import dev.shadowpatch.merge.ChangeLog;
import dev.shadowpatch.merge.ConflictRows;
import dev.shadowpatch.merge.Decision;
import dev.shadowpatch.merge.RelPath;
import dev.shadowpatch.merge.Journal;
import dev.shadowpatch.merge.MergeConflictException;
import dev.shadowpatch.merge.MergeEngine;
import dev.shadowpatch.merge.MergePlan;
import dev.shadowpatch.merge.MergePolicy;
import dev.shadowpatch.merge.MergeReport;
import dev.shadowpatch.merge.MergeTrees;
import dev.shadowpatch.virt.ShadowClone;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * The merge on real guest disks: exposes each disk's base and shadow delta read-only and its live
 * side (a snapshot of the running live delta before the window, the merge overlay in it) on the
 * host, runs the merge engine once per file system of the VM's {@link GuestLayout} (each its own
 * tree, on whichever disk it lies, with its part of the guest's change log and the policy matched on
 * guest paths), and always takes the mounts away again. A run without a layout (started before layouts were read) merges the one root
 * file system as before.
 */
@Component
public class ImageMerger implements ShadowMerger {
    private static final Logger log = LoggerFactory.getLogger(ImageMerger.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String GUEST_LOG = "/" + MergeEngine.GUEST_CHANGE_LOG;

    private final DiskExposer disks;
    private final MergePolicy policy;

    public ImageMerger(DiskExposer disks, @Value("${shadowpatch.merge.policy-file:}") String policyFile) {
        this.disks = disks;
        this.policy = loadPolicy(policyFile);
    }

    @Override
    public PlanResult plan(ShadowClone clone, GuestLayout layout) {
        if (layout != null) {
            for (GuestLayout.FileSystem fs : layout.fileSystems()) {
                if (clone.disk(fs.volume().disk()).isEmpty()) {
                    // a disk hot-plugged or removed between the run's start and its snapshot
                    throw new IllegalStateException(fs.mountPoint() + " of " + clone.liveVm() + " lies on disk " + fs.volume().disk()
                            + ", which the run's snapshot does not have (its disks: " + clone.targets()
                            + "): the VM's disks changed since the run started; abandon it and start a new run");
                }
            }
        }
        try (Views v = views(clone, layout, Access.SNAPSHOT_OF_RUNNING, ShadowClone.Disk::liveDelta)) {
            Optional<ChangeLog> guestLog = guestLog(v);
            Map<String, MergePlan> plans = new LinkedHashMap<>();
            ConflictRows rows = new ConflictRows(); // its bounds hold for the whole VM
            for (String mp : v.mountPoints()) {
                MergeEngine engine = new MergeEngine(policyFor(mp));
                if (v.layout == null) {
                    plans.put(mp, engine.planWithGuestLog(v.trees(mp)));
                } else {
                    // the log's paths on this file system; those on file systems mounted inside it are theirs
                    String mountRel = encodedRel(mp);
                    List<String> nested = v.mountPoints().stream().filter(o -> !o.equals(mp) && GuestLayout.within(o, mp))
                            .map(ImageMerger::encodedRel).toList();
                    plans.put(mp, engine.planWithLog(v.trees(mp), guestLog.map(l -> l.within(mountRel, nested))));
                }
                // the conflicts' contents are readable only now, while the trees are exposed
                engine.conflictRows(plans.get(mp), v.trees(mp), rel -> GuestLayout.absolute(mp, rel), rows);
            }
            return PlanResult.of(new FileSystemPlans(plans), rows);
        } catch (IOException e) {
            throw new UncheckedIOException("Computing the merge plan of " + clone.liveVm() + " failed: " + e.getMessage(), e);
        }
    }

    @Override
    public OutsideFileSystems outsideFileSystems(ShadowClone clone, GuestLayout layout) {
        if (layout == null) {
            return new OutsideFileSystems(List.of(), List.of());
        }
        List<String> unmerged = new ArrayList<>();
        List<BootLoaderArea.Copy> bootLoaders = new ArrayList<>();
        for (ShadowClone.Disk d : clone.disks()) {
            BootLoaderArea.Copy boot = disks.bootLoaderCopy(d.shadowDelta(), d.liveDelta(), Access.SNAPSHOT_OF_RUNNING, d.target());
            if (boot.carried()) {
                bootLoaders.add(boot);
            } else if (boot.shadowWrote()) {
                unmerged.add(boot.describe());
            }
            unmerged.addAll(disks.unmergedWrites(d.shadowDelta(), layout, d.target(), boot));
        }
        return new OutsideFileSystems(unmerged, bootLoaders);
    }

    @Override
    public List<BootLoaderArea.Copy> carryBootLoaders(ShadowClone clone, Set<String> targets) {
        List<BootLoaderArea.Copy> done = new ArrayList<>();
        for (String target : targets) {
            ShadowClone.Disk d = clone.disk(target).orElseThrow(() -> new IllegalStateException(
                    "the shadow's boot loader is on disk " + target + ", which the run's snapshot does not have"));
            if (d.mergeOverlay() == null) {
                throw new IllegalStateException("the shadow's boot loader is on disk " + target + ", which has no merge overlay");
            }
            BootLoaderArea.Copy copy = disks.bootLoaderCopy(d.shadowDelta(), d.liveDelta(), Access.READ_ONLY, target);
            if (copy.shadowWrote() && !copy.carried()) {
                throw new IllegalStateException(copy.describe());
            }
            if (copy.carried()) {
                disks.writeBootLoader(d.shadowDelta(), d.mergeOverlay(), copy);
                done.add(copy);
            }
        }
        return done;
    }

    /**
     * The disks whose file systems the approved plan writes (each part with an operation): only they
     * get a merge overlay; every other disk keeps its live delta. Without a layout, or when the plan
     * writes nothing at all: the boot disk, so the window's steps stay the same (an empty merge).
     */
    @Override
    public Set<String> disksWritten(ShadowClone clone, GuestLayout layout, byte[] approvedPlanJson) {
        if (layout == null) {
            return Set.of(clone.diskTarget());
        }
        FileSystemPlans approved = FileSystemPlans.fromJson(new String(approvedPlanJson, StandardCharsets.UTF_8));
        Set<String> out = new java.util.LinkedHashSet<>();
        for (GuestLayout.FileSystem fs : layout.fileSystems()) {
            if (approved.writes(fs.mountPoint())) {
                out.add(fs.volume().disk());
            }
        }
        return out.isEmpty() ? Set.of(clone.diskTarget()) : out;
    }

    @Override
    public PlanResult resolve(byte[] planJson, Map<String, String> resolutions, String fallback) {
        FileSystemPlans plans = FileSystemPlans.fromJson(new String(planJson, StandardCharsets.UTF_8));
        Map<String, String> byPath = new HashMap<>();
        resolutions.forEach((path, decision) -> byPath.put("/" + stripSlash(path), decision));
        Set<String> conflictPaths = new HashSet<>();
        List<String> open = new ArrayList<>();
        for (FileSystemPlans.GuestConflict conflict : plans.unresolvedConflicts()) {
            conflictPaths.add(conflict.guestPath());
            String explicit = byPath.get(conflict.guestPath());
            Decision decision = explicit != null ? Decision.parseResolution(explicit) : fallback == null ? null : Decision.parseResolution(fallback);
            if (explicit == null && decision != null && !conflict.conflict().choices().contains(decision)) {
                decision = null; // the fallback is not a choice of this conflict: an operator decides
            }
            if (decision == null) {
                open.add(conflict.guestPath());
            } else if (plans.asks(conflict.guestPath())) {
                // an earlier decision may have settled this one already (a child under a kept parent)
                plans = plans.withResolution(conflict.guestPath(), decision);
            }
        }
        for (FileSystemPlans.GuestConflict left : plans.unresolvedConflicts()) {
            if (!open.contains(left.guestPath())) {
                open.add(left.guestPath());
            }
        }
        List<String> unknown = byPath.keySet().stream().filter(p -> !conflictPaths.contains(p)).sorted().toList();
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("Not conflicts of this plan (check the spelling): " + String.join(", ", unknown));
        }
        if (!open.isEmpty()) {
            throw new ConflictsUnresolvedException(open);
        }
        return PlanResult.of(plans, null);
    }

    @Override
    public MergeResult merge(ShadowClone clone, GuestLayout layout, byte[] approvedPlanJson, Instant deadline) {
        if (clone.mergedDisks().isEmpty()) {
            throw new IllegalStateException("No merge overlay for " + clone.liveVm() + ": the merge writes only into one");
        }
        FileSystemPlans approved = FileSystemPlans.fromJson(new String(approvedPlanJson, StandardCharsets.UTF_8));
        if (layout != null) {
            for (GuestLayout.FileSystem fs : layout.fileSystems()) {
                if (approved.writes(fs.mountPoint()) && clone.disk(fs.volume().disk()).map(ShadowClone.Disk::mergeOverlay).isEmpty()) {
                    throw new IllegalStateException("The approved plan writes " + fs.mountPoint() + " of " + clone.liveVm()
                            + " but its disk " + fs.volume().disk() + " has no merge overlay: the overlays were made for another plan");
                }
            }
        }
        try (Views v = views(clone, layout, Access.READ_WRITE, ShadowClone.Disk::mergeOverlay)) {
            ObjectNode combined = JSON.createObjectNode();
            ArrayNode reports = combined.putArray("fileSystems");
            Map<String, Long> rules = new LinkedHashMap<>();
            long bytes = 0;
            Duration took = Duration.ZERO;
            for (String mp : v.mountPoints()) {
                MergePlan plan = approved.byMountPoint().get(mp);
                if (plan == null) {
                    throw new IllegalStateException("The approved plan has no part for " + mp + " of " + clone.liveVm()
                            + ": it was made for another layout; plan again");
                }
                var report = JSON.readTree(mergeOne(clone, v.diskOf(mp), mp, plan, v.trees(mp), deadline));
                reports.addObject().put("mountPoint", mp).set("report", report);
                report.path("ruleCounts").fields().forEachRemaining(e -> rules.merge(e.getKey(), e.getValue().asLong(), Long::sum));
                bytes += report.path("bytesCopied").asLong();
                for (var t : report.path("stageTimes")) {
                    took = took.plus(Duration.ofNanos((long) (t.asDouble() * 1e9)));
                }
            }
            byte[] json = (v.layout == null ? reports.get(0).get("report") : combined).toString().getBytes(StandardCharsets.UTF_8);
            return new MergeResult(json, rules, bytes, took);
        } catch (MergeConflictException e) {
            throw new ConflictsUnresolvedException(e.conflicts().stream().map(c -> "/" + c.path()).toList());
        } catch (IOException e) {
            throw new UncheckedIOException("Merging into " + clone.mergedDisks().stream().map(ShadowClone.Disk::mergeOverlay).toList()
                    + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * One file system's merge in the window: resumes its own interrupted merge, or re-decides the
     * approved plan against the live tree as it is now and executes it. A file system already
     * merged into this very overlay (a retry after a failure in a later one) is not merged again:
     * its report is read back.
     */
    private String mergeOne(ShadowClone clone, ShadowClone.Disk disk, String mp, MergePlan approved, MergeTrees trees,
                            Instant deadline) throws IOException {
        String identity = overlayIdentity(disk);
        Path doneMarker = sibling(disk.mergeOverlay(), ".merged-" + key(mp));
        if (Files.isRegularFile(doneMarker, LinkOption.NOFOLLOW_LINKS)) {
            String marker = Files.readString(doneMarker, StandardCharsets.UTF_8); // the overlay's identity, then the report
            int nl = marker.indexOf('\n');
            if (nl > 0 && marker.substring(0, nl).equals(identity)) {
                log.info("{} of {} was merged into {} already: not merged again", mp, clone.liveVm(), disk.mergeOverlay());
                return marker.substring(nl + 1).strip();
            }
            Files.delete(doneMarker); // of an earlier overlay of the same name
        }
        MergeEngine engine = new MergeEngine(policyFor(mp));
        Journal journal = journal(disk, mp, identity);
        Optional<Journal.Interrupted> interrupted = journal.interrupted();
        MergePlan now;
        MergeReport report;
        if (interrupted.isPresent()) {
            // an earlier attempt on this very overlay was killed: finish its plan, do not plan over its partial work
            now = interrupted.get().plan();
            log.warn("resuming the interrupted merge of {} into {}: {} of {} operations done", mp, disk.mergeOverlay(),
                    interrupted.get().done().size(), now.size());
            report = engine.resume(interrupted.get(), trees, journal, deadline);
        } else {
            now = engine.replan(approved, trees);
            if (!now.unresolvedConflicts().isEmpty()) {
                throw new ConflictsUnresolvedException(now.unresolvedConflicts().stream().map(c -> GuestLayout.absolute(mp, c.path())).toList());
            }
            try {
                report = engine.execute(now, trees, journal, deadline);
            } catch (MergeConflictException e) {
                throw new ConflictsUnresolvedException(e.conflicts().stream().map(c -> GuestLayout.absolute(mp, c.path())).toList());
            }
        }
        if (!report.complete()) {
            throw new IllegalStateException("The merge of " + mp + " left " + report.left().size() + " operation(s) undone: "
                    + report.left().entrySet().stream().limit(10).map(e -> GuestLayout.absolute(mp, e.getKey()) + ": " + e.getValue()).toList());
        }
        writeAtomically(doneMarker, identity + "\n" + report.toJson() + "\n");
        log.info("merged {} operations ({} bytes) of {} into {}: {}", now.size(), report.bytesCopied(), mp,
                disk.mergeOverlay(), report.stageTimes());
        return report.toJson();
    }

    /**
     * The journal of merges of one file system into its disk's merge overlay, beside it on the
     * host (the root file system's keeps its earlier name). It names the overlay by path, inode and
     * birth time: a journal left by a merge into an earlier overlay of the same name is discarded,
     * never resumed into a fresh one.
     */
    private static Journal journal(ShadowClone.Disk disk, String mp, String identity) throws IOException {
        Path dir = sibling(disk.mergeOverlay(), ".merge-journal" + (mp.equals("/") ? "" : "-" + key(mp)));
        Journal journal = Journal.at(dir, disk.baseImage().toAbsolutePath().normalize() + (mp.equals("/") ? "" : " " + mp),
                identity, disk.shadowDelta().toAbsolutePath().normalize().toString());
        try {
            journal.interrupted();
        } catch (IOException stale) {
            log.warn("discarding the merge journal {} of another overlay: {}", dir, stale.getMessage());
            journal.discard();
        }
        return journal;
    }

    /** Written whole or not at all (temporary name, fsync, rename): a crash never leaves half a marker. */
    private static void writeAtomically(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.TRUNCATE_EXISTING, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
            ch.force(true);
        }
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    @Override
    public void forget(ShadowClone clone) {
        for (ShadowClone.Disk disk : clone.mergedDisks()) {
            forget(disk.mergeOverlay().toAbsolutePath().normalize());
        }
    }

    private static void forget(Path overlay) {
        String name = overlay.getFileName().toString();
        try (var siblings = Files.list(overlay.getParent())) {
            for (Path p : siblings.toList()) {
                String n = p.getFileName().toString();
                if (n.startsWith(name + ".merged-") && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    Files.delete(p);
                } else if (n.startsWith(name + ".merge-journal") && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    deleteDirectory(p);
                }
            }
        } catch (IOException e) {
            log.warn("what the merge kept beside {} could not all be removed: {}", overlay, e.getMessage());
        }
    }

    /** A journal directory of ours: its files, then itself; links are removed, never followed. */
    private static void deleteDirectory(Path dir) throws IOException {
        try (var entries = Files.list(dir)) {
            for (Path p : entries.toList()) {
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    deleteDirectory(p);
                } else {
                    Files.delete(p);
                }
            }
        }
        Files.delete(dir);
    }

    private static String overlayIdentity(ShadowClone.Disk disk) throws IOException {
        Path overlay = disk.mergeOverlay().toAbsolutePath().normalize();
        BasicFileAttributes a = Files.readAttributes(overlay, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        return overlay + " " + a.fileKey() + " born " + a.creationTime();
    }

    private static Path sibling(Path overlay, String suffix) {
        Path o = overlay.toAbsolutePath().normalize();
        return o.resolveSibling(o.getFileName() + suffix);
    }

    /** The root file system keeps the names of runs before layouts; every other one its unique key. */
    private static String key(String mountPoint) {
        return mountPoint.equals("/") ? "root" : GuestLayout.keyOf(mountPoint);
    }

    /** A mount point as the engine's paths are written (RelPath-encoded components, relative to the guest's root). */
    private static String encodedRel(String mountPoint) {
        if (mountPoint.equals("/")) {
            return "";
        }
        StringBuilder rel = new StringBuilder();
        for (String c : mountPoint.substring(1).split("/")) {
            rel.append(rel.length() == 0 ? "" : "/").append(RelPath.encodeComponent(c.getBytes(StandardCharsets.UTF_8)));
        }
        return rel.toString();
    }

    /** The guest's change log, from the shadow file system that holds its path (none: a full scan). */
    private static Optional<ChangeLog> guestLog(Views v) throws IOException {
        if (v.layout == null) {
            return Optional.empty(); // read by the engine from the one tree
        }
        String mp = v.layout.holding(GUEST_LOG).mountPoint();
        if (!v.mountPoints().contains(mp)) {
            return Optional.empty();
        }
        return MergeEngine.readGuestLog(v.trees(mp).shadow(), GuestLayout.relative(GUEST_LOG, mp));
    }

    private MergePolicy policyFor(String mountPoint) {
        return mountPoint.equals("/") ? policy : policy.mountedAt(encodedRel(mountPoint));
    }

    @Override
    public List<Path> writeOnlinePayload(ShadowClone clone, GuestLayout layout, OnlinePlan online, byte[] approvedPlanJson, Path runDir) {
        FileSystemPlans approved = FileSystemPlans.fromJson(new String(approvedPlanJson, StandardCharsets.UTF_8));
        List<MountedImage> opened = new ArrayList<>();
        try {
            Map<String, Path> shadowRoots = new HashMap<>();
            if (layout == null) {
                shadowRoots.put("/", open(disks.expose(clone.bootDisk().shadowDelta(), "qcow2", Access.READ_ONLY), opened).root());
            } else {
                for (ShadowClone.Disk d : clone.disks()) {
                    if (layout.on(d.target()).isEmpty()) {
                        continue;
                    }
                    MountedDisk shadow = open(disks.exposeFileSystems(d.shadowDelta(), "qcow2", Access.READ_ONLY, layout, d.target()), opened);
                    for (String mp : shadow.mountPoints()) {
                        shadowRoots.put(mp, shadow.root(mp));
                    }
                }
            }
            return OnlinePayload.write(online, approved.byMountPoint(), shadowRoots, runDir, clone.runId());
        } catch (IOException e) {
            throw new UncheckedIOException("Packing the online merge of " + clone.liveVm() + " failed: " + e.getMessage(), e);
        } finally {
            closeAll(opened, null);
        }
    }

    /**
     * Base and shadow read-only, and the live side as asked ({@code liveImage} of each disk; a disk
     * without one, one the merge does not write, is not exposed), each with every file system of
     * its disk mounted.
     */
    private Views views(ShadowClone clone, GuestLayout layout, Access liveAccess, Function<ShadowClone.Disk, Path> liveImage) {
        List<MountedImage> opened = new ArrayList<>();
        Map<String, MergeTrees> trees = new LinkedHashMap<>();
        Map<String, ShadowClone.Disk> diskOf = new HashMap<>();
        try {
            if (layout == null) {
                ShadowClone.Disk d = clone.bootDisk();
                // the base in the format the VM's disk had (raw or qcow2); every overlay is qcow2
                MountedImage base = open(disks.expose(d.baseImage(), d.baseFormat(), Access.READ_ONLY), opened);
                MountedImage shadow = open(disks.expose(d.shadowDelta(), "qcow2", Access.READ_ONLY), opened);
                MountedImage live = open(disks.expose(liveImage.apply(d), "qcow2", liveAccess), opened);
                trees.put("/", new MergeTrees(base.root(), live.root(), shadow.root()));
                diskOf.put("/", d);
            } else {
                for (ShadowClone.Disk d : clone.disks()) {
                    if (layout.on(d.target()).isEmpty() || liveImage.apply(d) == null) {
                        continue;
                    }
                    MountedDisk base = open(disks.exposeFileSystems(d.baseImage(), d.baseFormat(), Access.READ_ONLY, layout, d.target()), opened);
                    MountedDisk shadow = open(disks.exposeFileSystems(d.shadowDelta(), "qcow2", Access.READ_ONLY, layout, d.target()), opened);
                    MountedDisk live = open(disks.exposeFileSystems(liveImage.apply(d), "qcow2", liveAccess, layout, d.target()), opened);
                    for (String mp : base.mountPoints()) {
                        trees.put(mp, new MergeTrees(base.root(mp), live.root(mp), shadow.root(mp)));
                        diskOf.put(mp, d);
                    }
                }
            }
            return new Views(layout, trees, diskOf, opened);
        } catch (RuntimeException e) {
            closeAll(opened, e);
            throw e;
        }
    }

    private static <M extends MountedImage> M open(M mounted, List<MountedImage> opened) {
        opened.add(mounted);
        return mounted;
    }

    private static void closeAll(List<MountedImage> opened, Throwable failure) {
        for (int i = opened.size() - 1; i >= 0; i--) {
            try {
                opened.get(i).close();
            } catch (RuntimeException undo) {
                if (failure != null) {
                    failure.addSuppressed(undo);
                } else {
                    throw undo;
                }
            }
        }
    }

    /** The three exposed sides of a merge, by guest mount point; closing takes every mount away, the last opened first. */
    private record Views(GuestLayout layout, Map<String, MergeTrees> byMountPoint, Map<String, ShadowClone.Disk> disks,
                         List<MountedImage> opened) implements AutoCloseable {
        List<String> mountPoints() {
            return byMountPoint.keySet().stream().sorted().toList();
        }

        MergeTrees trees(String mp) {
            return byMountPoint.get(mp);
        }

        ShadowClone.Disk diskOf(String mp) {
            return disks.get(mp);
        }

        @Override
        public void close() {
            closeAll(opened, null);
        }
    }

    private static String stripSlash(String path) {
        String p = path.strip();
        while (p.startsWith("/")) {
            p = p.substring(1);
        }
        return p;
    }

    private static MergePolicy loadPolicy(String file) {
        if (file == null || file.isBlank()) {
            return MergePolicy.defaults();
        }
        try {
            return MergePolicy.parse(Path.of(file));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the merge policy " + file + " (shadowpatch.merge.policy-file)", e);
        }
    }
}
