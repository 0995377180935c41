package dev.shadowpatch.workflow;

import dev.shadowpatch.disk.BootLoaderArea;
import dev.shadowpatch.disk.GuestLayout;
import dev.shadowpatch.virt.ShadowClone;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The merge as the process sees it: guest disks exposed on the host, handed to the merge engine,
 * taken away again. One implementation ({@link ImageMerger}) composes the disk and merge capabilities.
 */
public interface ShadowMerger {

    /**
     * Before the window: the plan for merging the shadow's changes into the live VM as it is now,
     * one part per file system of the layout (null: the one root file system, runs from before layouts).
     */
    PlanResult plan(ShadowClone clone, GuestLayout layout);

    /**
     * What the shadow wrote outside every file system of the layout: its boot loader's install, which
     * the window carries to the live disk when it can ({@link BootLoaderArea}), and what no step
     * carries over (a set-aside EFI partition, LVM metadata, a boot loader that cannot be carried),
     * one line per place. Nothing for runs without a layout.
     */
    default OutsideFileSystems outsideFileSystems(ShadowClone clone, GuestLayout layout) {
        return new OutsideFileSystems(List.of(), List.of());
    }

    /** @param unmerged one line per place no step carries over; bootLoaders the disks' boot loaders the window copies */
    record OutsideFileSystems(List<String> unmerged, List<BootLoaderArea.Copy> bootLoaders) {
        public OutsideFileSystems {
            unmerged = List.copyOf(unmerged);
            bootLoaders = List.copyOf(bootLoaders);
        }
    }

    /**
     * In the window, after {@link #merge}: copies the shadow's boot loader into the merge overlays of
     * these disks, checked again against the live delta as it is now (the live VM is shut down).
     *
     * @return what was copied, per disk
     * @throws IllegalStateException when it can no longer be carried (the live VM wrote its own since the plan)
     */
    default List<BootLoaderArea.Copy> carryBootLoaders(ShadowClone clone, java.util.Set<String> disks) {
        return List.of();
    }

    /**
     * The disks the approved plan writes (those holding a file system with an operation): the
     * window makes a merge overlay for each of them only; every other disk keeps its live delta.
     */
    default java.util.Set<String> disksWritten(ShadowClone clone, GuestLayout layout, byte[] approvedPlanJson) {
        return clone.targets();
    }

    /**
     * Applies the operator's decisions to the plan's {@code ask} conflicts.
     *
     * @param resolutions path -> keep-live | take-shadow | hybrid | three-way (where the conflict offers a clean line merge)
     * @param fallback    decision for every conflict not named, or null
     * @throws ConflictsUnresolvedException when a conflict is left without a decision
     */
    PlanResult resolve(byte[] planJson, Map<String, String> resolutions, String fallback);

    /**
     * In the window (live VM shut off, merge overlay created): re-decides the approved plan's paths
     * against the live tree as it is now and executes it into the merge overlay, starting no
     * operation after {@code deadline} (null: none; a merge cut short is incomplete and fails).
     *
     * @throws ConflictsUnresolvedException when the live VM changed a planned path into a new conflict
     */
    MergeResult merge(ShadowClone clone, GuestLayout layout, byte[] approvedPlanJson, Instant deadline);

    /**
     * For an online merge: writes the in-guest applier's run directory ({@link dev.shadowpatch.online.OnlinePayload})
     * from the shadow's file systems, exposed read-only for it.
     *
     * @return the run directory's files
     */
    default List<java.nio.file.Path> writeOnlinePayload(ShadowClone clone, GuestLayout layout, dev.shadowpatch.online.OnlinePlan online,
                                                        byte[] approvedPlanJson, java.nio.file.Path runDir) {
        throw new UnsupportedOperationException("this merger has no online merge");
    }

    /**
     * The run is over: what the merge kept beside the merge overlay to resume or skip work on a
     * retry (journals, per-file-system done markers) goes. Idempotent.
     */
    default void forget(ShadowClone clone) {
    }

    /** The paths of the plan's conflicts that still need an operator's decision. */
    default List<String> openConflicts(byte[] planJson) {
        try {
            resolve(planJson, Map.of(), null);
            return List.of();
        } catch (ConflictsUnresolvedException e) {
            return e.paths();
        }
    }

    /**
     * @param conflicts     one human-readable line per conflict: path, policy, base/live/shadow metadata
     * @param conflictRows  the approval form's rows for the unresolved conflicts, with their diffs: only
     *                      a plan computed on exposed trees has them (null: a plan settled from its JSON,
     *                      whose rows stay those of its computation)
     * @param byDirectory   the plan by directory with what it leaves out (null: not known)
     */
    record PlanResult(byte[] planJson, Map<String, Long> ruleCounts, long bytesToCopy, int operations,
                      List<String> conflicts, List<String> unresolvedPaths, dev.shadowpatch.merge.ConflictRows conflictRows,
                      PlanByDirectory byDirectory) {
        /** A plan's numbers alone (test doubles, plans from before rows). */
        public PlanResult(byte[] planJson, Map<String, Long> ruleCounts, long bytesToCopy, int operations,
                          List<String> conflicts, List<String> unresolvedPaths) {
            this(planJson, ruleCounts, bytesToCopy, operations, conflicts, unresolvedPaths, null, null);
        }

        /** The result of a VM's plan; rows: for a plan computed on exposed trees, else null. */
        public static PlanResult of(FileSystemPlans plans, dev.shadowpatch.merge.ConflictRows rows) {
            var unresolved = plans.unresolvedConflicts();
            List<String> lines = unresolved.stream().map(c -> c.describe().replace("\n   ", " |")).toList();
            return new PlanResult(plans.toJson().getBytes(java.nio.charset.StandardCharsets.UTF_8), plans.ruleCountWords(),
                    plans.bytesToCopy(), plans.size(), lines, unresolved.stream().map(FileSystemPlans.GuestConflict::guestPath).toList(),
                    rows, PlanByDirectory.of(plans));
        }
    }

    record MergeResult(byte[] reportJson, Map<String, Long> ruleCounts, long bytesCopied, Duration took) {}

    /** Conflicts that need an operator's decision before anything may be written. */
    class ConflictsUnresolvedException extends RuntimeException {
        private final List<String> paths;

        public ConflictsUnresolvedException(List<String> paths) {
            super(paths.size() + " conflict(s) need an operator's decision (keep-live, take-shadow or hybrid): "
                    + String.join(", ", paths.subList(0, Math.min(paths.size(), 20)))
                    + (paths.size() > 20 ? ", ..." : ""));
            this.paths = List.copyOf(paths);
        }

        public List<String> paths() {
            return paths;
        }
    }
}
