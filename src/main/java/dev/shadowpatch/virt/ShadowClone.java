package dev.shadowpatch.virt;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A patch run's disk chain: the one shape of it (libvirt keeps none: snapshots are NO_METADATA).
 * Every writable disk of the VM has its own layers ({@link Disk}), all taken in one atomic snapshot;
 * the first is the disk the VM boots from. The process carries it as a variable ({@link #toJson}),
 * and {@link ChainRecord} stores it with the steps done, in the same JSON fields, so any step can be
 * retried or undone by any node.
 */
public record ShadowClone(String runId, String liveVm, String shadowVm, List<Disk> disks) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public ShadowClone {
        if (disks == null || disks.isEmpty()) {
            throw new IllegalArgumentException("a disk chain of run " + runId + " without disks");
        }
        disks = List.copyOf(disks);
    }

    /**
     * One disk's layers.
     *
     * @param target       the live VM's disk, e.g. {@code vda}
     * @param baseImage    the live VM's image at the snapshot, shared read-only by the two deltas
     * @param liveDelta    what the live VM writes to this disk after the snapshot
     * @param shadowDelta  what the shadow writes to it (the patch)
     * @param mergeOverlay null until {@link Hypervisor#createMergeOverlay} made one for this disk (a disk
     *                     the merge does not write gets none and keeps its live delta), and again after a rollback
     * @param baseFormat   the base's format as the live VM's domain XML declared it ({@code qcow2} or
     *                     {@code raw}); every other layer is qcow2. Carried so the base is always opened
     *                     with its format explicit: a raw disk's first bytes are the guest's, and a guest
     *                     that wrote a qcow2 header there must not make us read it as one.
     */
    public record Disk(
            String target,
            @JsonSerialize(using = ToStringSerializer.class) Path baseImage,
            @JsonSerialize(using = ToStringSerializer.class) Path liveDelta,
            @JsonSerialize(using = ToStringSerializer.class) Path shadowDelta,
            @JsonSerialize(using = ToStringSerializer.class) Path mergeOverlay,
            String baseFormat) {
        public Disk {
            baseFormat = baseFormat == null ? "qcow2" : baseFormat;
        }

        public Path image(Layer layer) {
            return switch (layer) {
                case BASE -> baseImage;
                case LIVE_DELTA -> liveDelta;
                case SHADOW_DELTA -> shadowDelta;
                case MERGE_OVERLAY -> mergeOverlay;
            };
        }

        /** The format a layer is opened with: the base's as declared, the overlays' qcow2. */
        public String format(Layer layer) {
            return layer == Layer.BASE ? baseFormat : "qcow2";
        }

        public Disk withMergeOverlay(Path overlay) {
            return new Disk(target, baseImage, liveDelta, shadowDelta, overlay, baseFormat);
        }
    }

    public enum Layer { BASE, LIVE_DELTA, SHADOW_DELTA, MERGE_OVERLAY }

    /** A chain of one disk. */
    public ShadowClone(String runId, String liveVm, String shadowVm, String diskTarget, Path baseImage, Path liveDelta,
                       Path shadowDelta, Path mergeOverlay, String baseFormat) {
        this(runId, liveVm, shadowVm, List.of(new Disk(diskTarget, baseImage, liveDelta, shadowDelta, mergeOverlay, baseFormat)));
    }

    /** A chain of one disk on a qcow2 base. */
    public ShadowClone(String runId, String liveVm, String shadowVm, String diskTarget, Path baseImage, Path liveDelta,
                       Path shadowDelta, Path mergeOverlay) {
        this(runId, liveVm, shadowVm, diskTarget, baseImage, liveDelta, shadowDelta, mergeOverlay, "qcow2");
    }

    /**
     * Reads both shapes: {@code disks}, and the one-disk fields of chains recorded before a run
     * took every disk (a run in flight across the upgrade resumes on its one disk).
     */
    @JsonCreator
    static ShadowClone read(@JsonProperty("runId") String runId, @JsonProperty("liveVm") String liveVm,
                            @JsonProperty("shadowVm") String shadowVm, @JsonProperty("disks") List<Disk> disks,
                            @JsonProperty("diskTarget") String diskTarget, @JsonProperty("baseImage") String baseImage,
                            @JsonProperty("liveDelta") String liveDelta, @JsonProperty("shadowDelta") String shadowDelta,
                            @JsonProperty("mergeOverlay") String mergeOverlay, @JsonProperty("baseFormat") String baseFormat) {
        if (disks == null && diskTarget != null) {
            disks = List.of(new Disk(diskTarget, path(baseImage), path(liveDelta), path(shadowDelta), path(mergeOverlay), baseFormat));
        }
        return new ShadowClone(runId, liveVm, shadowVm, disks);
    }

    private static Path path(String p) {
        return p == null ? null : Path.of(p);
    }

    /** The disk the VM boots from (the first of the domain's disks). */
    public Disk bootDisk() {
        return disks.get(0);
    }

    public Optional<Disk> disk(String target) {
        return disks.stream().filter(d -> d.target().equals(target)).findFirst();
    }

    /** The disks that have a merge overlay now. */
    public List<Disk> mergedDisks() {
        return disks.stream().filter(d -> d.mergeOverlay() != null).toList();
    }

    /** The boot disk's target: the one-disk view that runs, tests and logs before multi-disk chains used. */
    public String diskTarget() {
        return bootDisk().target();
    }

    public Path baseImage() {
        return bootDisk().baseImage();
    }

    public Path liveDelta() {
        return bootDisk().liveDelta();
    }

    public Path shadowDelta() {
        return bootDisk().shadowDelta();
    }

    /** The boot disk's merge overlay; see {@link #mergedDisks} for all. */
    public Path mergeOverlay() {
        return bootDisk().mergeOverlay();
    }

    public String baseFormat() {
        return bootDisk().baseFormat();
    }

    public Path image(Layer layer) {
        return bootDisk().image(layer);
    }

    public String format(Layer layer) {
        return bootDisk().format(layer);
    }

    /** This chain with the given disks' merge overlays (targets not in {@code overlays} unchanged). */
    public ShadowClone withMergeOverlays(java.util.Map<String, Path> overlays) {
        List<Disk> out = new ArrayList<>();
        for (Disk d : disks) {
            out.add(overlays.containsKey(d.target()) ? d.withMergeOverlay(overlays.get(d.target())) : d);
        }
        return new ShadowClone(runId, liveVm, shadowVm, out);
    }

    /** This chain with no merge overlay on any disk (a rollback). */
    public ShadowClone withoutMergeOverlays() {
        return new ShadowClone(runId, liveVm, shadowVm, disks.stream().map(d -> d.withMergeOverlay(null)).toList());
    }

    /** The one-disk chain's overlay set (tests and runs of one disk). */
    public ShadowClone withMergeOverlay(Path overlay) {
        java.util.Map<String, Path> m = new java.util.HashMap<>();
        m.put(diskTarget(), overlay);
        return withMergeOverlays(m);
    }

    public Set<String> targets() {
        return disks.stream().map(Disk::target).collect(java.util.stream.Collectors.toCollection(java.util.LinkedHashSet::new));
    }

    /** Paths as plain strings, as the chain records and the variables of earlier runs have them. */
    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (IOException e) {
            throw new HypervisorException("disk chain of run " + runId + " cannot be written as JSON: " + e.getMessage(), e);
        }
    }

    public static ShadowClone fromJson(String json) {
        try {
            return JSON.readValue(json, ShadowClone.class);
        } catch (IOException e) {
            throw new HypervisorException("not a disk chain: " + e.getMessage(), e);
        }
    }
}
