package dev.shadowpatch.virt;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What the patch process needs from the hypervisor. Every method is idempotent: a retried job
 * (after a failure or an orchestrator restart) finds the work already done and returns the same
 * result, because the chain state lives in our own records ({@link ShadowClone}), not in libvirt.
 * One exception, said at the method: {@link #shutdown} tells how the VM went off, so a second call
 * finds it off and answers {@link PowerOff#ALREADY_OFF}; the caller keeps the first answer.
 */
public interface Hypervisor {

    /**
     * External disk-only snapshot of every disk of the running live VM ({@link #snapshotDisks}, in
     * one atomic snapshot: each current image becomes a read-only base, the live VM keeps running on
     * the live deltas), then a shadow VM on a new overlay of each base, on an isolated network, started. The base may be a raw file: the overlays are
     * qcow2 with backing format raw ({@link ShadowClone#baseFormat}), and the flatten at
     * {@link #cleanup} leaves the live VM on a standalone qcow2 image.
     *
     * @param runId a stable id of the patch run, used to name the shadow VM and its files
     */
    ShadowClone createShadow(String liveVm, String runId);

    /**
     * Where the running VM answers, and which source said so, waiting up to {@code timeout}: the
     * guest agent's address of one of the domain's own NICs, else a DHCP lease of libvirt's, else
     * (only once the wait is over, so a discovered address always wins) {@code configuredAddress}
     * ({@link AddressChoice} decides). Reads only, so idempotent: a repeated call asks again and may
     * answer a newer address (a VM that rebooted onto a new lease), never changes anything.
     *
     * @param configuredAddress an address given for the VM (the inventory's, through the run), or null
     * @throws HypervisorException when the VM is not running, or no source had an address in time
     */
    VmAddress waitForAddress(String vm, Duration timeout, String configuredAddress);

    /** {@link #waitForAddress(String, Duration, String)} with nothing configured: just the address. */
    default String waitForAddress(String vm, Duration timeout) {
        return waitForAddress(vm, timeout, null).address();
    }

    /**
     * Graceful shutdown with a deadline, then forced off. Returns once the VM is shut off, saying how
     * it went off: {@link PowerOff#CLEAN} (the guest shut down within {@code grace}),
     * {@link PowerOff#FORCED} (destroyed after it: writes the guest had not flushed are lost) or
     * {@link PowerOff#ALREADY_OFF}. Idempotent in effect (an off VM stays off, nothing else is touched);
     * not in its answer: a repeated call answers {@link PowerOff#ALREADY_OFF}.
     */
    PowerOff shutdown(String vm, Duration grace);

    /** Starts a defined VM; no-op when it already runs. */
    void start(String vm);

    /** Whether a domain of that name is defined on this host, running or not. */
    boolean exists(String vm);

    /** Whether the domain exists and is running. */
    boolean isRunning(String vm);

    /**
     * Why a patch run of this VM cannot start now (not defined, not running, paused, one of its
     * {@link #snapshotDisks} not a qcow2 or raw file with its format declared: {@link PatchableDisk}), each problem a sentence
     * naming the VM; empty when it can. Reads only: asked before a run is created, so a refused
     * request leaves nothing behind.
     */
    default List<String> checkPatchable(String vm) {
        List<String> problems = new ArrayList<>();
        if (!exists(vm)) {
            problems.add("VM " + vm + " is not defined on this host");
        } else if (!isRunning(vm)) {
            problems.add("VM " + vm + " is not running: a shadow is taken of a running VM");
        }
        return problems;
    }

    /**
     * The disks a run of this VM snapshots, patches in its shadow and merges (image path and declared
     * format, by libvirt target), the one it boots from first: {@link DomainXml#snapshotDisks}. Reads
     * only. Empty when this hypervisor cannot say (the run then reads no file system layout).
     */
    default java.util.Map<String, DomainXml.Disk> snapshotDisks(String vm) {
        return java.util.Map.of();
    }

    /**
     * What the live VM reaches beyond its own disks and NICs (shareable or LUN disks,
     * host directories, host devices, shared memory, USB redirection), one line each with the reason:
     * the shadow made of it gets none of them. Reads only.
     */
    default List<String> sharedDevices(String vm) {
        return List.of();
    }

    /**
     * A fresh overlay on top of the live delta of each disk in {@code diskTargets} (the disks the
     * merge writes, at least one) for the merge to write into (the live VM is shut off). Every other
     * disk gets none and keeps its live delta; a disk that had one from an earlier attempt loses it.
     */
    ShadowClone createMergeOverlay(ShadowClone clone, java.util.Set<String> diskTargets);

    /**
     * The online merge's rollback point: an external disk-only snapshot of the running live VM's
     * disks in {@code diskTargets} onto their merge overlays (quiesced through the guest agent when it
     * answers), so the VM keeps running on the overlays while the merge writes inside it, and
     * {@link #rollback} (shut down, back to the live deltas) undoes everything after this moment.
     * Every other disk keeps its live delta. Idempotent: a VM already on these overlays is left as it is.
     *
     * @throws HypervisorException when the VM is not running, or its disks are not on the run's live deltas
     */
    ShadowClone snapshotToMergeOverlay(ShadowClone clone, java.util.Set<String> diskTargets);

    /**
     * Point the (shut off) live VM's disks that have a merge overlay at it, all in one definition,
     * so its next boot sees the merged trees.
     */
    void switchToMergeOverlay(ShadowClone clone);

    /** The live VM goes back to its previous disks (the live deltas); the merge overlays are dropped. */
    void rollback(ShadowClone clone);

    /** Removes the shadow VM and its deltas, and flattens each live disk's chain once nothing else uses its base. */
    void cleanup(ShadowClone clone);

}
