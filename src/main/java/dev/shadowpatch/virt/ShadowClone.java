package dev.shadowpatch.virt;

import java.nio.file.Path;

/**
 * Our own record of one patch run's disk chain (libvirt keeps none: snapshots are NO_METADATA).
 * Small and serialisable, so it travels in process variables and lets any step be retried or undone.
 *
 * @param diskTarget   the live VM's disk being patched, e.g. {@code vda}
 * @param mergeOverlay null until {@link Hypervisor#createMergeOverlay} ran
 */
public record ShadowClone(
        String runId,
        String liveVm,
        String shadowVm,
        String diskTarget,
        Path baseImage,
        Path liveDelta,
        Path shadowDelta,
        Path mergeOverlay) {

    public enum Layer { BASE, LIVE_DELTA, SHADOW_DELTA, MERGE_OVERLAY }

    public Path image(Layer layer) {
        return switch (layer) {
            case BASE -> baseImage;
            case LIVE_DELTA -> liveDelta;
            case SHADOW_DELTA -> shadowDelta;
            case MERGE_OVERLAY -> mergeOverlay;
        };
    }

    public ShadowClone withMergeOverlay(Path overlay) {
        return new ShadowClone(runId, liveVm, shadowVm, diskTarget, baseImage, liveDelta, shadowDelta, overlay);
    }
}
