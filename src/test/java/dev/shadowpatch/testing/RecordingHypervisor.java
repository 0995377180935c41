package dev.shadowpatch.testing;

import dev.shadowpatch.virt.Hypervisor;
import dev.shadowpatch.virt.PowerOff;
import dev.shadowpatch.virt.ShadowClone;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Test double of {@link Hypervisor}: no libvirt, every call succeeds at once and is recorded in a
 * {@link CapabilityLog} with the name of the node that made it. Live VMs answer on
 * {@link #LIVE_ADDRESS}, shadows on {@link #SHADOW_ADDRESS}.
 */
public class RecordingHypervisor implements Hypervisor {
    public static final String LIVE_ADDRESS = "192.0.2.10";
    public static final String SHADOW_ADDRESS = "192.0.2.20";

    private final String node;
    private final CapabilityLog log;

    public RecordingHypervisor(String node, CapabilityLog log) {
        this.node = node;
        this.log = log;
    }

    public static String shadowOf(String liveVm) {
        return liveVm + "-shadow";
    }

    @Override
    public ShadowClone createShadow(String liveVm, String runId) {
        log.record(node, "hypervisor.createShadow", liveVm);
        Path dir = Path.of("/images", runId);
        return new ShadowClone(runId, liveVm, shadowOf(liveVm), "vda", dir.resolve("base.qcow2"),
                dir.resolve("live.qcow2"), dir.resolve("shadow.qcow2"), null);
    }

    @Override
    public dev.shadowpatch.virt.VmAddress waitForAddress(String vm, Duration timeout, String configuredAddress) {
        log.record(node, "hypervisor.waitForAddress", vm);
        return new dev.shadowpatch.virt.VmAddress(vm.endsWith("-shadow") ? SHADOW_ADDRESS : LIVE_ADDRESS,
                dev.shadowpatch.virt.VmAddress.Source.DHCP_LEASE);
    }

    @Override
    public PowerOff shutdown(String vm, Duration grace) {
        log.record(node, "hypervisor.shutdown", vm);
        return PowerOff.CLEAN;
    }

    @Override
    public void start(String vm) {
        log.record(node, "hypervisor.start", vm);
    }

    @Override
    public boolean exists(String vm) {
        log.record(node, "hypervisor.exists", vm);
        return true;
    }

    @Override
    public boolean isRunning(String vm) {
        log.record(node, "hypervisor.isRunning", vm);
        return true;
    }

    @Override
    public ShadowClone createMergeOverlay(ShadowClone clone, java.util.Set<String> diskTargets) {
        log.record(node, "hypervisor.createMergeOverlay", clone.liveVm());
        return withOverlays(clone, diskTargets);
    }

    private static ShadowClone withOverlays(ShadowClone clone, java.util.Set<String> diskTargets) {
        java.util.Map<String, java.nio.file.Path> overlays = new java.util.HashMap<>();
        diskTargets.forEach(t -> overlays.put(t, clone.liveDelta().resolveSibling(t + "-merge.qcow2")));
        return clone.withMergeOverlays(overlays);
    }

    @Override
    public ShadowClone snapshotToMergeOverlay(ShadowClone clone, java.util.Set<String> diskTargets) {
        log.record(node, "hypervisor.snapshotToMergeOverlay", clone.liveVm());
        return withOverlays(clone, diskTargets);
    }

    @Override
    public void switchToMergeOverlay(ShadowClone clone) {
        log.record(node, "hypervisor.switchToMergeOverlay", clone.liveVm());
    }

    @Override
    public void rollback(ShadowClone clone) {
        log.record(node, "hypervisor.rollback", clone.liveVm());
    }

    @Override
    public void cleanup(ShadowClone clone) {
        log.record(node, "hypervisor.cleanup", clone.shadowVm());
    }
}
