package dev.shadowpatch.workflow;

import dev.shadowpatch.disk.DiskExposer;
import dev.shadowpatch.disk.DiskExposer.Access;
import dev.shadowpatch.disk.MountedImage;
import dev.shadowpatch.merge.Conflict;
import dev.shadowpatch.merge.Journal;
import dev.shadowpatch.merge.MergeConflictException;
import dev.shadowpatch.merge.MergeEngine;
import dev.shadowpatch.merge.MergePlan;
import dev.shadowpatch.merge.MergePolicy;
import dev.shadowpatch.merge.MergeReport;
import dev.shadowpatch.merge.MergeTrees;
import dev.shadowpatch.merge.Decision;
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
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import dev.shadowpatch.merge.Op;

/**
 * The merge on real guest disks: exposes base and shadow delta read-only and the live side (a
 * snapshot of the running live delta before the window, the merge overlay in it) on the host, runs
 * the merge engine, and always takes the mounts away again.
 */
@Component
public class ImageMerger implements ShadowMerger {
    private static final Logger log = LoggerFactory.getLogger(ImageMerger.class);

    private final DiskExposer disks;
    private final MergePolicy policy;

    public ImageMerger(DiskExposer disks, @Value("${shadowpatch.merge.policy-file:}") String policyFile) {
        this.disks = disks;
        this.policy = loadPolicy(policyFile);
    }

    @Override
    public PlanResult plan(ShadowClone clone) {
        try (MountedImage base = disks.expose(clone.baseImage(), clone.baseFormat(), Access.READ_ONLY);
             MountedImage shadow = disks.expose(clone.shadowDelta(), Access.READ_ONLY);
             MountedImage live = disks.expose(clone.liveDelta(), Access.SNAPSHOT_OF_RUNNING)) {
            // the shadow's change log, when its agent ran, is read from the shadow tree; the scan stays the authority
            return result(new MergeEngine(policy).planWithGuestLog(trees(base, live, shadow)));
        } catch (IOException e) {
            throw new UncheckedIOException("Computing the merge plan of " + clone.liveVm() + " failed: " + e.getMessage(), e);
        }
    }

    @Override
    public PlanResult resolve(byte[] planJson, Map<String, String> resolutions, String fallback) {
        MergePlan plan = MergePlan.fromJson(new String(planJson, StandardCharsets.UTF_8));
        Map<String, String> byPath = new HashMap<>();
        resolutions.forEach((path, decision) -> byPath.put(stripSlash(path), decision));
        Set<String> conflictPaths = new HashSet<>();
        List<String> open = new ArrayList<>();
        for (Conflict conflict : plan.unresolvedConflicts()) {
            conflictPaths.add(conflict.path());
            String explicit = byPath.get(conflict.path());
            Decision decision = explicit != null ? Decision.parseResolution(explicit) : fallback == null ? null : Decision.parseResolution(fallback);
            if (explicit == null && decision != null && !conflict.choices().contains(decision)) {
                decision = null; // the fallback is not a choice of this conflict: an operator decides
            }
            if (decision == null) {
                open.add("/" + conflict.path());
            } else if (plan.op(conflict.path()).action() == Op.Action.ASK) {
                // an earlier decision may have settled this one already (a child under a kept parent)
                plan = plan.withResolution(conflict.path(), decision);
            }
        }
        for (Conflict left : plan.unresolvedConflicts()) {
            if (!open.contains("/" + left.path())) {
                open.add("/" + left.path());
            }
        }
        List<String> unknown = byPath.keySet().stream().filter(p -> !conflictPaths.contains(p)).map(p -> "/" + p).sorted().toList();
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("Not conflicts of this plan (check the spelling): " + String.join(", ", unknown));
        }
        if (!open.isEmpty()) {
            throw new ConflictsUnresolvedException(open);
        }
        return result(plan);
    }

    @Override
    public MergeResult merge(ShadowClone clone, byte[] approvedPlanJson, Instant deadline) {
        if (clone.mergeOverlay() == null) {
            throw new IllegalStateException("No merge overlay for " + clone.liveVm() + ": the merge writes only into one");
        }
        MergePlan approved = MergePlan.fromJson(new String(approvedPlanJson, StandardCharsets.UTF_8));
        try (MountedImage base = disks.expose(clone.baseImage(), clone.baseFormat(), Access.READ_ONLY);
             MountedImage shadow = disks.expose(clone.shadowDelta(), Access.READ_ONLY);
             MountedImage live = disks.expose(clone.mergeOverlay(), Access.READ_WRITE)) {
            MergeTrees trees = trees(base, live, shadow);
            MergeEngine engine = new MergeEngine(policy);
            Journal journal = journal(clone);
            Optional<Journal.Interrupted> interrupted = journal.interrupted();
            MergePlan now;
            MergeReport report;
            if (interrupted.isPresent()) {
                // an earlier attempt on this very overlay was killed: finish its plan, do not plan over its partial work
                now = interrupted.get().plan();
                log.warn("resuming the interrupted merge into {}: {} of {} operations done", clone.mergeOverlay(),
                        interrupted.get().done().size(), now.size());
                report = engine.resume(interrupted.get(), trees, journal, deadline);
            } else {
                now = engine.replan(approved, trees);
                if (!now.unresolvedConflicts().isEmpty()) {
                    throw new ConflictsUnresolvedException(now.unresolvedConflicts().stream().map(c -> "/" + c.path()).toList());
                }
                report = engine.execute(now, trees, journal, deadline);
            }
            if (!report.complete()) {
                throw new IllegalStateException("The merge left " + report.left().size() + " operation(s) undone: "
                        + report.left().entrySet().stream().limit(10).map(e -> "/" + e.getKey() + ": " + e.getValue()).toList());
            }
            Duration took = report.stageTimes().values().stream().reduce(Duration.ZERO, Duration::plus);
            log.info("merged {} operations ({} bytes) into {}: {}", now.size(), report.bytesCopied(),
                    clone.mergeOverlay(), report.stageTimes());
            return new MergeResult(report.toJson().getBytes(StandardCharsets.UTF_8), report.ruleCountWords(),
                    report.bytesCopied(), took);
        } catch (MergeConflictException e) {
            throw new ConflictsUnresolvedException(e.conflicts().stream().map(c -> "/" + c.path()).toList());
        } catch (IOException e) {
            throw new UncheckedIOException("Merging into " + clone.mergeOverlay() + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * The journal of merges into this clone's merge overlay, beside it on the host. It names the
     * overlay by path, inode and birth time: a journal left by a merge into an earlier overlay of the
     * same name is discarded, never resumed into a fresh one.
     */
    private static Journal journal(ShadowClone clone) throws IOException {
        Path overlay = clone.mergeOverlay().toAbsolutePath().normalize();
        BasicFileAttributes a = Files.readAttributes(overlay, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        Path dir = overlay.resolveSibling(overlay.getFileName() + ".merge-journal");
        Journal journal = Journal.at(dir, clone.baseImage().toAbsolutePath().normalize().toString(),
                overlay + " " + a.fileKey() + " born " + a.creationTime(), clone.shadowDelta().toAbsolutePath().normalize().toString());
        try {
            journal.interrupted();
        } catch (IOException stale) {
            log.warn("discarding the merge journal {} of another overlay: {}", dir, stale.getMessage());
            journal.discard();
        }
        return journal;
    }

    private static PlanResult result(MergePlan plan) {
        List<Conflict> unresolved = plan.unresolvedConflicts();
        List<String> lines = unresolved.stream().map(c -> c.describe().replace("\n   ", " |")).toList();
        return new PlanResult(plan.toJson().getBytes(StandardCharsets.UTF_8), plan.ruleCountWords(), plan.bytesToCopy(),
                plan.size(), lines, unresolved.stream().map(c -> "/" + c.path()).toList());
    }

    private static MergeTrees trees(MountedImage base, MountedImage live, MountedImage shadow) {
        return new MergeTrees(base.root(), live.root(), shadow.root());
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
