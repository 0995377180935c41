package dev.shadowpatch.testing;

import dev.shadowpatch.virt.Hypervisor;
import dev.shadowpatch.virt.HypervisorException;
import dev.shadowpatch.virt.HypervisorFactory;
import dev.shadowpatch.virt.PowerOff;
import dev.shadowpatch.virt.ShadowClone;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * TEST DOUBLE of the {@link Hypervisor} interface, and nothing else: a simulated fleet of hypervisor
 * hosts with no libvirt and no VM behind it. Every call succeeds at once. It exists to measure what
 * the campaign does to hosts: a VM is "in flight" on its host from its snapshot
 * ({@link #createShadow}) until its shadow is removed ({@link #cleanup}); the {@link Fleet} keeps the
 * peak number in flight overall and per host, independent of the campaign's own bookkeeping. VMs
 * can be declared not running or not defined, and hosts unreachable, for the campaign's pre-check.
 */
public final class SimulatedHypervisor implements Hypervisor {
    private final String host;
    private final Fleet fleet;

    private SimulatedHypervisor(String host, Fleet fleet) {
        this.host = host;
        this.fleet = fleet;
    }

    /** The simulated hosts, handed to the application as its {@link HypervisorFactory}. */
    public static final class Fleet implements HypervisorFactory {
        private final Map<String, SimulatedHypervisor> hosts = new ConcurrentHashMap<>();
        private final Set<String> inFlight = ConcurrentHashMap.newKeySet();
        private final Map<String, AtomicInteger> inFlightPerHost = new ConcurrentHashMap<>();
        private final Map<String, Integer> peakPerHost = new ConcurrentHashMap<>();
        private final Set<String> snapshotted = ConcurrentHashMap.newKeySet();
        private final Set<String> notRunning = ConcurrentHashMap.newKeySet();
        private final Set<String> undefined = ConcurrentHashMap.newKeySet();
        private final Set<String> unreachable = ConcurrentHashMap.newKeySet();
        private final Set<String> forcedOff = ConcurrentHashMap.newKeySet();
        private final AtomicInteger peak = new AtomicInteger();

        @Override
        public Hypervisor connect(String hostName, String uri) {
            return host(hostName);
        }

        public SimulatedHypervisor host(String name) {
            return hosts.computeIfAbsent(name, n -> new SimulatedHypervisor(n, this));
        }

        public Fleet notRunning(String vm) {
            notRunning.add(vm);
            return this;
        }

        /** The VM is in the inventory but no longer defined on its host. */
        public Fleet undefined(String vm) {
            undefined.add(vm);
            return this;
        }

        /** The VM (e.g. a shadow) ignores the shutdown request: it is forced off after the grace period. */
        public Fleet forcedOff(String vm) {
            forcedOff.add(vm);
            return this;
        }

        public Fleet unreachable(String host) {
            unreachable.add(host);
            return this;
        }

        public int peakInFlight() {
            return peak.get();
        }

        public Map<String, Integer> peakInFlightPerHost() {
            return Map.copyOf(peakPerHost);
        }

        public int inFlight() {
            return inFlight.size();
        }

        /** The live VMs a shadow was made of: the VMs the campaign started. */
        public Set<String> started() {
            return Set.copyOf(snapshotted);
        }

        public void reset() {
            inFlight.clear();
            inFlightPerHost.clear();
            peakPerHost.clear();
            snapshotted.clear();
            notRunning.clear();
            unreachable.clear();
            forcedOff.clear();
            peak.set(0);
        }

        private synchronized void begin(String host, String vm) {
            if (inFlight.add(vm)) {
                snapshotted.add(vm);
                peak.accumulateAndGet(inFlight.size(), Math::max);
                int onHost = inFlightPerHost.computeIfAbsent(host, h -> new AtomicInteger()).incrementAndGet();
                peakPerHost.merge(host, onHost, Math::max);
            }
        }

        private synchronized void end(String host, String vm) {
            if (inFlight.remove(vm)) {
                inFlightPerHost.get(host).decrementAndGet();
            }
        }
    }

    public static String addressOf(String vm) {
        return vm.endsWith("-shadow") ? RecordingHypervisor.SHADOW_ADDRESS : RecordingHypervisor.LIVE_ADDRESS;
    }

    private void reachable() {
        if (fleet.unreachable.contains(host)) {
            throw new HypervisorException("simulated host " + host + " does not answer");
        }
    }

    @Override
    public ShadowClone createShadow(String liveVm, String runId) {
        reachable();
        fleet.begin(host, liveVm);
        Path dir = Path.of("/simulated", host, runId);
        return new ShadowClone(runId, liveVm, RecordingHypervisor.shadowOf(liveVm), "vda", dir.resolve("base.qcow2"),
                dir.resolve("live.qcow2"), dir.resolve("shadow.qcow2"), null);
    }

    @Override
    public dev.shadowpatch.virt.VmAddress waitForAddress(String vm, Duration timeout, String configuredAddress) {
        reachable();
        return new dev.shadowpatch.virt.VmAddress(addressOf(vm), dev.shadowpatch.virt.VmAddress.Source.DHCP_LEASE);
    }

    @Override
    public PowerOff shutdown(String vm, Duration grace) {
        reachable();
        return fleet.forcedOff.contains(vm) ? PowerOff.FORCED : PowerOff.CLEAN;
    }

    @Override
    public void start(String vm) {
        reachable();
    }

    @Override
    public boolean exists(String vm) {
        reachable();
        return !fleet.undefined.contains(vm);
    }

    @Override
    public boolean isRunning(String vm) {
        return exists(vm) && !fleet.notRunning.contains(vm);
    }

    @Override
    public ShadowClone createMergeOverlay(ShadowClone clone, java.util.Set<String> diskTargets) {
        java.util.Map<String, java.nio.file.Path> overlays = new java.util.HashMap<>();
        diskTargets.forEach(t -> overlays.put(t, clone.liveDelta().resolveSibling(t + "-merge.qcow2")));
        return clone.withMergeOverlays(overlays);
    }

    @Override
    public ShadowClone snapshotToMergeOverlay(ShadowClone clone, java.util.Set<String> diskTargets) {
        reachable();
        return createMergeOverlay(clone, diskTargets);
    }

    @Override
    public void switchToMergeOverlay(ShadowClone clone) {
        reachable();
    }

    @Override
    public void rollback(ShadowClone clone) {
        reachable();
    }

    @Override
    public void cleanup(ShadowClone clone) {
        reachable();
        fleet.end(host, clone.liveVm());
    }
}
