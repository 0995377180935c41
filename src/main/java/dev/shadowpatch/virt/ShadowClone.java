package dev.shadowpatch.virt;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A patch run's disk chain: the one shape of it (libvirt keeps none: snapshots are NO_METADATA).
 * The process carries it as a variable ({@link #toJson}), and {@link ChainRecord} stores it with
 * the steps done, in the same JSON fields, so any step can be retried or undone by any node.
 *
 * @param diskTarget   the live VM's disk being patched, e.g. {@code vda}
 * @param baseImage    the live VM's image at the snapshot, shared read-only by the two deltas
 * @param liveDelta    what the live VM writes after the snapshot
 * @param shadowDelta  what the shadow writes (the patch)
 * @param mergeOverlay null until {@link Hypervisor#createMergeOverlay} ran, and again after a rollback
 * @param baseFormat   the base's format as the live VM's domain XML declared it ({@code qcow2} or
 *                     {@code raw}); every other layer is qcow2. Carried so the base is always opened
 *                     with its format explicit: a raw disk's first bytes are the guest's, and a guest
 *                     that wrote a qcow2 header there must not make us read it as one. Chains
 *                     recorded before this field were all qcow2.
 */
public record ShadowClone(
        String runId,
        String liveVm,
        String shadowVm,
        String diskTarget,
        @JsonSerialize(using = ToStringSerializer.class) Path baseImage,
        @JsonSerialize(using = ToStringSerializer.class) Path liveDelta,
        @JsonSerialize(using = ToStringSerializer.class) Path shadowDelta,
        @JsonSerialize(using = ToStringSerializer.class) Path mergeOverlay,
        String baseFormat) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public ShadowClone {
        baseFormat = baseFormat == null ? "qcow2" : baseFormat;
    }

    /** A chain on a qcow2 base. */
    public ShadowClone(String runId, String liveVm, String shadowVm, String diskTarget, Path baseImage, Path liveDelta,
                       Path shadowDelta, Path mergeOverlay) {
        this(runId, liveVm, shadowVm, diskTarget, baseImage, liveDelta, shadowDelta, mergeOverlay, "qcow2");
    }

    public enum Layer { BASE, LIVE_DELTA, SHADOW_DELTA, MERGE_OVERLAY }

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

    public ShadowClone withMergeOverlay(Path overlay) {
        return new ShadowClone(runId, liveVm, shadowVm, diskTarget, baseImage, liveDelta, shadowDelta, overlay, baseFormat);
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
