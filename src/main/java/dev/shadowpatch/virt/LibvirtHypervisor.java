package dev.shadowpatch.virt;

import dev.shadowpatch.virt.ChainRecord.Step;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.DomainInfo.DomainState;
import org.libvirt.DomainInterface;
import org.libvirt.Error.ErrorNumber;
import org.libvirt.LibvirtException;
import org.libvirt.Network;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link Hypervisor} on libvirt-java (local {@code qemu:///system} or remote {@code qemu+ssh://}),
 * with qemu-img for overlays and {@code virsh blockpull} (missing in libvirt-java 0.5.4) to
 * flatten the live chain. Every step is recorded in a {@link ChainStore} before and after it runs.
 *
 * <p>Note: qemu-img and virsh run on this host, so overlays are created where the orchestrator
 * runs; with a remote URI the image directory must be the same path on both (shared storage).
 */
public class LibvirtHypervisor implements Hypervisor, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LibvirtHypervisor.class);
    private static final int VIR_DOMAIN_UNDEFINE_NVRAM = 4;
    private static final int XML_INACTIVE = 2;

    private final LibvirtProperties props;
    private final LibvirtConnection conn;
    private final ChainStore store;

    public LibvirtHypervisor(LibvirtProperties props) {
        this(props, new FileChainStore(props.getStateDir()));
    }

    public LibvirtHypervisor(LibvirtProperties props, ChainStore store) {
        this(props, new LibvirtConnection(props.getUri()), store);
    }

    public LibvirtHypervisor(LibvirtProperties props, LibvirtConnection conn, ChainStore store) {
        this.props = props;
        this.conn = conn;
        this.store = store;
    }

    public String uri() {
        return props.getUri();
    }

    /** Our record of a run, e.g. to resume or undo after an orchestrator restart. */
    public Optional<ShadowClone> find(String runId) {
        return store.load(runId).map(ChainRecord::toClone);
    }

    public Optional<ChainRecord> record(String runId) {
        return store.load(runId);
    }

    // ================================================================== snapshot + shadow

    @Override
    public ShadowClone createShadow(String liveVm, String runId) {
        ChainStore.checkRunId(runId);
        ChainRecord r = store.load(runId).orElse(null);
        if (r != null && !r.chain.liveVm().equals(liveVm)) {
            throw new HypervisorException("run " + runId + " belongs to VM " + r.chain.liveVm() + ", not " + liveVm);
        }
        if (r != null && r.has(Step.CLEANED)) {
            throw new HypervisorException("run " + runId + " of VM " + liveVm + " was already cleaned up; use a new run id");
        }
        if (r == null) {
            for (ChainRecord other : store.all()) {
                if (other.chain.liveVm().equals(liveVm) && !other.has(Step.CLEANED)) {
                    throw new HypervisorException("VM " + liveVm + " on " + uri() + " already has an open patch run "
                            + other.chain.runId() + " (live delta " + other.chain.liveDelta() + "): clean it up before starting run " + runId);
                }
            }
        }
        if (r == null || !r.has(Step.SNAPSHOT_TAKEN)) {
            r = snapshot(liveVm, runId, r);
        }
        try {
            if (!r.has(Step.SHADOW_DELTA_CREATED) || r.chain.disks().stream().anyMatch(d -> !Files.exists(d.shadowDelta()))) {
                for (ShadowClone.Disk disk : r.chain.disks()) {
                    createOverlay(disk.baseImage(), disk.baseFormat(), disk.shadowDelta());
                }
                mark(r, Step.SHADOW_DELTA_CREATED);
            }
            ensureIsolatedNetwork();
            if (!r.has(Step.SHADOW_DEFINED) || !exists(r.chain.shadowVm())) {
                defineShadow(r);
                mark(r, Step.SHADOW_DEFINED);
            }
            start(r.chain.shadowVm());
            mark(r, Step.SHADOW_STARTED);
            log.info("shadow {} of {} runs on {}", r.chain.shadowVm(), liveVm, describe(r.chain));
            return r.toClone();
        } catch (RuntimeException e) {
            // Nothing half-made: the shadow side goes; the snapshot stays recorded (cleanup() flattens it).
            try {
                removeShadow(r);
            } catch (RuntimeException undo) {
                e.addSuppressed(undo);
            }
            throw new HypervisorException("shadow of VM " + liveVm + " (run " + runId + ") on " + uri() + " failed: "
                    + e.getMessage() + "; the live VM keeps running on its live deltas " + describe(r.chain)
                    + " (retry createShadow, or cleanup to flatten)", e);
        }
    }

    private ChainRecord snapshot(String liveVm, String runId, ChainRecord existing) {
        return withDomain(liveVm, d -> {
            DomainState state = d.getInfo().state;
            String xml = d.getXMLDesc(0);
            if (existing != null && existing.chain != null
                    && DomainXml.pointsAt(xml, existing.chain.diskTarget(), existing.chain.liveDelta())) {
                // The snapshot happened (atomically, every disk) but the orchestrator died before recording it.
                mark(existing, Step.SNAPSHOT_TAKEN);
                return existing;
            }
            if (state != DomainState.VIR_DOMAIN_RUNNING) {
                throw new HypervisorException("VM " + liveVm + " on " + uri() + " is not running (state "
                        + state.name().replace("VIR_DOMAIN_", "").toLowerCase() + "): a shadow is taken of a running VM");
            }
            List<String> notPatchable = notPatchable(liveVm, xml);
            if (!notPatchable.isEmpty()) {
                throw new HypervisorException(String.join("; ", notPatchable) + " (on " + uri() + ")");
            }
            String shadowVm = liveVm + "-shadow-" + runId;
            Path imageDir = props.getImageDir();
            List<ShadowClone.Disk> layers = new ArrayList<>();
            for (DomainXml.Disk disk : DomainXml.snapshotDisks(xml).values()) {
                // the boot disk keeps the names of runs before every disk was taken
                String suffix = layers.isEmpty() ? "" : "-" + disk.target();
                layers.add(new ShadowClone.Disk(disk.target(), Path.of(disk.source()),
                        imageDir.resolve(liveVm + "-" + runId + suffix + "-live.qcow2"),
                        imageDir.resolve(shadowVm + suffix + ".qcow2"), null, disk.format()));
            }
            ChainRecord r = existing != null ? existing : new ChainRecord();
            r.chain = new ShadowClone(runId, liveVm, shadowVm, layers);
            ioRun(() -> Files.createDirectories(imageDir), "create image directory " + imageDir);
            for (ShadowClone.Disk disk : layers) {
                ioRun(() -> Files.deleteIfExists(disk.liveDelta()), "remove leftover " + disk.liveDelta());
            }
            store.save(r); // intended paths recorded before anything changes

            String snapXml = snapshotXml(xml, r);
            int flags = Domain.SnapshotCreateFlags.DISK_ONLY | Domain.SnapshotCreateFlags.ATOMIC
                    | Domain.SnapshotCreateFlags.NO_METADATA;
            long t0 = System.nanoTime();
            boolean quiesce = takeSnapshot(d, liveVm, snapXml);
            r.quiesced = quiesce;
            r.snapshotAt = Instant.now();
            mark(r, Step.SNAPSHOT_TAKEN);
            log.info("snapshot of {} in {} ms ({}): {}", liveVm, (System.nanoTime() - t0) / 1_000_000,
                    quiesce ? "quiesced" : "crash-consistent", describe(r.chain));
            return r;
        }, "snapshot");
    }

    /**
     * One atomic disk-only external snapshot without libvirt metadata, quiesced through the guest agent
     * when it answers, else (or when the freeze fails) crash-consistent. Returns whether it was quiesced.
     */
    private boolean takeSnapshot(Domain d, String vm, String snapXml) throws LibvirtException {
        int flags = Domain.SnapshotCreateFlags.DISK_ONLY | Domain.SnapshotCreateFlags.ATOMIC | Domain.SnapshotCreateFlags.NO_METADATA;
        if (props.isQuiesce() && agentAnswers(d)) {
            try {
                d.snapshotCreateXML(snapXml, flags | Domain.SnapshotCreateFlags.QUIESCE);
                return true;
            } catch (LibvirtException e) {
                log.warn("quiesced snapshot of {} failed ({}); taking a crash-consistent one", vm, e.getError().getMessage());
            }
        }
        d.snapshotCreateXML(snapXml, flags);
        return false;
    }

    /** Why a run cannot snapshot the VM's disks ({@link DomainXml#snapshotDisks}): one sentence per disk. */
    private static List<String> notPatchable(String vm, String xml) {
        List<String> problems = new ArrayList<>();
        for (DomainXml.Disk disk : DomainXml.snapshotDisks(xml).values()) {
            PatchableDisk.whyNot(vm, disk).or(() -> notARegularFile(vm, disk)).ifPresent(problems::add);
        }
        return problems;
    }

    /** Each disk's layers, for the log: {@code vda: base -> live delta}. */
    private static String describe(ShadowClone chain) {
        return chain.disks().stream().map(x -> x.target() + ": base " + x.baseImage() + ", live delta " + x.liveDelta()
                + ", shadow delta " + x.shadowDelta()).collect(java.util.stream.Collectors.joining("; "));
    }

    private static String snapshotXml(String domainXml, ChainRecord r) {
        StringBuilder s = new StringBuilder("<domainsnapshot><name>shadowpatch-").append(r.chain.runId())
                .append("</name><description>Shadow Patching run ").append(r.chain.runId()).append("</description><disks>");
        for (DomainXml.Disk d : DomainXml.disks(domainXml)) {
            if (d.target() == null) {
                continue;
            }
            Optional<ShadowClone.Disk> layers = r.chain.disk(d.target());
            if (layers.isPresent()) {
                s.append("<disk name='").append(d.target()).append("' snapshot='external'><driver type='qcow2'/>")
                        .append("<source file='").append(xmlAttr(layers.get().liveDelta().toString())).append("'/></disk>");
            } else if ("disk".equals(d.device())) {
                s.append("<disk name='").append(d.target()).append("' snapshot='no'/>");
            }
        }
        return s.append("</disks></domainsnapshot>").toString();
    }

    private boolean agentAnswers(Domain d) {
        try {
            d.qemuAgentCommand("{\"execute\":\"guest-ping\"}", 3, 0);
            return true;
        } catch (LibvirtException e) {
            return false;
        }
    }

    private void defineShadow(ChainRecord r) {
        String liveXml = withDomain(r.chain.liveVm(), d -> d.getXMLDesc(XML_INACTIVE), "read definition");
        Path nvram = null;
        // with firmware autoselection (<os firmware='efi'>) only the running definition names the store
        Optional<String> liveNvram = DomainXml.nvram(liveXml)
                .or(() -> DomainXml.nvram(withDomain(r.chain.liveVm(), d -> d.getXMLDesc(0), "read running definition")));
        if (liveNvram.isPresent() && Files.exists(Path.of(liveNvram.get()))) {
            nvram = props.getImageDir().resolve(r.chain.shadowVm() + "_VARS.fd");
            Path target = nvram;
            ioRun(() -> Files.copy(Path.of(liveNvram.get()), target, StandardCopyOption.REPLACE_EXISTING), "copy UEFI vars");
            r.shadowNvram = nvram.toString();
        }
        r.droppedDevices = DomainXml.sharedDevices(liveXml, r.chain.targets());
        if (!r.droppedDevices.isEmpty()) {
            log.warn("shadow {} of {} gets none of what the live VM shares: {}", r.chain.shadowVm(), r.chain.liveVm(),
                    String.join("; ", r.droppedDevices));
        }
        Map<String, Path> shadowDeltas = new LinkedHashMap<>();
        r.chain.disks().forEach(x -> shadowDeltas.put(x.target(), x.shadowDelta()));
        String xml = DomainXml.shadowDefinition(liveXml, r.chain.shadowVm(), shadowDeltas, props.getShadowNetwork(), nvram);
        undefineIfExists(r.chain.shadowVm());
        Domain d = call(() -> conn.get().domainDefineXML(xml), "define shadow VM " + r.chain.shadowVm());
        free(d);
        if (DomainXml.hasEmulatedTpm(liveXml)) {
            copyTpmState(DomainXml.uuid(liveXml), DomainXml.uuid(withDomain(r.chain.shadowVm(), x -> x.getXMLDesc(XML_INACTIVE), "read definition")));
        }
    }

    /**
     * swtpm keeps a domain's TPM state under its UUID; the shadow (a new UUID) gets a copy of the
     * live VM's, so sealed secrets still open. Local hosts only (the state lives on the hypervisor).
     */
    private void copyTpmState(String liveUuid, String shadowUuid) {
        Path from = props.getSwtpmStateDir().resolve(liveUuid);
        Path to = props.getSwtpmStateDir().resolve(shadowUuid);
        if (!Files.isDirectory(from)) {
            log.warn("live VM TPM state {} not found: the shadow starts with a fresh TPM", from);
            return;
        }
        HostCommand.run(props.getCommandTimeout(), "cp", "-a", "-T", from.toString(), to.toString())
                .orThrow("copy TPM state " + from + " to " + to);
    }

    /** Creates the isolated network shadows attach to, when missing, and starts it. */
    public void ensureIsolatedNetwork() {
        String name = props.getShadowNetwork();
        Connect c = conn.get();
        Network n = null;
        try {
            try {
                n = c.networkLookupByName(name);
            } catch (LibvirtException e) {
                if (e.getError().getCode() != ErrorNumber.VIR_ERR_NO_NETWORK) {
                    throw e;
                }
                String a = props.getShadowNetworkAddress();
                String prefix = a.substring(0, a.lastIndexOf('.') + 1);
                n = c.networkDefineXML("<network><name>" + name + "</name>"
                        + "<bridge name='" + props.getShadowBridge() + "' stp='on' delay='0'/>"
                        + "<ip address='" + a + "' netmask='255.255.255.0'><dhcp><range start='" + prefix + "10' end='"
                        + prefix + "250'/></dhcp></ip></network>");
                n.setAutostart(true);
                log.info("defined isolated network {} ({}0/24, no forwarding)", name, prefix);
            }
            if (n.isActive() == 0) {
                n.create();
            }
        } catch (LibvirtException e) {
            throw new HypervisorException("isolated network " + name + " on " + uri() + ": " + e.getError().getMessage(), e);
        } finally {
            if (n != null) {
                try {
                    n.free();
                } catch (LibvirtException ignored) {
                    // handle already gone
                }
            }
        }
    }

    // ================================================================== lifecycle

    @Override
    public VmAddress waitForAddress(String vm, Duration timeout, String configuredAddress) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            boolean last = System.nanoTime() > deadline;
            String[] why = new String[1];
            Optional<VmAddress> found = withDomain(vm, d -> {
                if (d.isActive() == 0) {
                    throw new HypervisorException("VM " + vm + " on " + uri() + " is not running: it has no address");
                }
                String xml = d.getXMLDesc(0);
                List<String> macs = DomainXml.macAddresses(xml);
                List<AddressChoice.Nic> agent = null;
                try {
                    agent = nics(d.interfaceAddresses(Domain.InterfaceAddressesSource.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT, 0));
                } catch (LibvirtException e) { // no agent in the guest, or not up yet
                    why[0] = "guest agent: " + e.getError().getMessage();
                }
                List<AddressChoice.Nic> leases = nics(d.interfaceAddresses(Domain.InterfaceAddressesSource.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE, 0));
                return AddressChoice.choose(macs, agent, leases, last ? configuredAddress : null, allowedAddresses(xml));
            }, "read addresses");
            if (found.isPresent()) {
                log.info("VM {} answers at {}", vm, found.get());
                return found.get();
            }
            if (last) {
                throw new HypervisorException("VM " + vm + " on " + uri() + " has no address after " + timeout.toSeconds()
                        + " s: no IPv4 address of its NICs from the guest agent" + (why[0] == null ? "" : " (" + why[0] + ")")
                        + ", no DHCP lease, none configured");
            }
            sleep(500);
        }
    }

    /**
     * A VM whose NICs are all on the isolated shadow network answers only inside that network's
     * subnet (see {@link AddressChoice#choose(List, List, List, String, java.util.function.Predicate)}).
     */
    private java.util.function.Predicate<java.net.InetAddress> allowedAddresses(String xml) {
        List<String> networks = DomainXml.nicNetworks(xml);
        if (networks.isEmpty() || !networks.stream().allMatch(props.getShadowNetwork()::equals)) {
            return a -> true;
        }
        String a = props.getShadowNetworkAddress();
        String subnet = a.substring(0, a.lastIndexOf('.') + 1); // a /24, as ensureIsolatedNetwork defines it
        return ip -> ip.getHostAddress().startsWith(subnet);
    }

    private static List<AddressChoice.Nic> nics(java.util.Collection<DomainInterface> reported) {
        List<AddressChoice.Nic> out = new ArrayList<>();
        for (DomainInterface i : reported) {
            List<java.net.InetAddress> addrs = new ArrayList<>();
            if (i.addrs != null) {
                i.addrs.forEach(a -> addrs.add(a.address));
            }
            out.add(new AddressChoice.Nic(i.name, i.hwAddr, addrs));
        }
        return out;
    }

    @Override
    public PowerOff shutdown(String vm, Duration grace) {
        long t0 = System.nanoTime();
        long deadline = t0 + grace.toNanos();
        long nextRequest = 0;
        if (state(vm) == DomainState.VIR_DOMAIN_SHUTOFF) {
            log.info("VM {} is already shut off", vm);
            return PowerOff.ALREADY_OFF;
        }
        PowerOff how = PowerOff.CLEAN;
        while (state(vm) != DomainState.VIR_DOMAIN_SHUTOFF) {
            long now = System.nanoTime();
            if (now > deadline) {
                log.warn("VM {} did not shut down within {} s: forcing it off (writes it had not flushed are lost)",
                        vm, grace.toSeconds());
                boolean destroyed = withDomain(vm, d -> {
                    try {
                        d.destroy();
                        return true;
                    } catch (LibvirtException e) {
                        if (e.getError().getCode() != ErrorNumber.VIR_ERR_OPERATION_INVALID) {
                            throw e;
                        }
                        return false; // it went off by itself in the meantime
                    }
                }, "force off");
                waitForState(vm, DomainState.VIR_DOMAIN_SHUTOFF, props.getStateTimeout());
                how = destroyed ? PowerOff.FORCED : PowerOff.CLEAN;
                break;
            }
            if (now >= nextRequest) { // repeat: an ACPI request early in boot is ignored by the guest
                withDomain(vm, d -> {
                    try {
                        d.shutdown();
                    } catch (LibvirtException e) {
                        if (e.getError().getCode() != ErrorNumber.VIR_ERR_OPERATION_INVALID) {
                            throw e;
                        }
                    }
                    return null;
                }, "shut down");
                nextRequest = now + Duration.ofSeconds(5).toNanos();
            }
            awaitEvent(250);
        }
        log.info("VM {} is shut off ({}, {} ms)", vm, how, (System.nanoTime() - t0) / 1_000_000);
        return how;
    }

    @Override
    public void start(String vm) {
        withDomain(vm, d -> {
            if (d.isActive() == 0) {
                d.create();
            }
            return null;
        }, "start");
        waitForState(vm, DomainState.VIR_DOMAIN_RUNNING, props.getStateTimeout());
    }

    @Override
    public boolean isRunning(String vm) {
        return exists(vm) && state(vm) == DomainState.VIR_DOMAIN_RUNNING;
    }

    @Override
    public List<String> checkPatchable(String vm) {
        if (!exists(vm)) {
            return List.of("VM " + vm + " is not defined on " + uri() + " (virsh -c " + uri() + " list --all shows the names)");
        }
        List<String> problems = new ArrayList<>();
        DomainState s = state(vm);
        if (s == DomainState.VIR_DOMAIN_PAUSED) {
            problems.add("VM " + vm + " on " + uri() + " is paused (QEMU pauses a VM whose disk is full): resume it or free space first");
        } else if (s != DomainState.VIR_DOMAIN_RUNNING) {
            problems.add("VM " + vm + " on " + uri() + " is not running (state " + stateWord(s) + "): a shadow is taken of a running VM");
        }
        try {
            problems.addAll(notPatchable(vm, withDomain(vm, d -> d.getXMLDesc(0), "read definition")));
        } catch (RuntimeException e) {
            problems.add("VM " + vm + ": " + e.getMessage());
        }
        return problems;
    }

    @Override
    public List<String> sharedDevices(String vm) {
        String xml = withDomain(vm, d -> d.getXMLDesc(XML_INACTIVE), "read definition");
        return DomainXml.sharedDevices(xml, DomainXml.snapshotDisks(xml).keySet());
    }

    @Override
    public java.util.Map<String, DomainXml.Disk> snapshotDisks(String vm) {
        return DomainXml.snapshotDisks(withDomain(vm, d -> d.getXMLDesc(0), "read definition"));
    }

    /**
     * A file disk whose path is not a regular file here (a device node behind {@code type='file'}):
     * its overlays are made and its base removed by path on this host, which must never hit a device.
     * A path this host does not see (a remote hypervisor without shared storage) is left to the snapshot.
     */
    private static Optional<String> notARegularFile(String vm, DomainXml.Disk disk) {
        Path p = Path.of(disk.source());
        return Files.exists(p) && !Files.isRegularFile(p)
                ? Optional.of("disk " + disk.target() + " of VM " + vm + " (" + disk.source() + ") is not a regular file")
                : Optional.empty();
    }

    private static String stateWord(DomainState s) {
        return s.name().replace("VIR_DOMAIN_", "").toLowerCase();
    }

    /** Waits for a state, woken by libvirt lifecycle events (and polling as a safety net). */
    public void waitForState(String vm, DomainState wanted, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        DomainState s;
        while ((s = state(vm)) != wanted) {
            if (System.nanoTime() > deadline) {
                throw new HypervisorException("VM " + vm + " on " + uri() + " did not reach " + wanted + " within "
                        + timeout.toSeconds() + " s (it is " + s + ")");
            }
            awaitEvent(250);
        }
    }

    public DomainState state(String vm) {
        return withDomain(vm, d -> d.getInfo().state, "read state");
    }

    @Override
    public boolean exists(String vm) {
        try {
            Domain d = conn.get().domainLookupByName(vm);
            free(d);
            return true;
        } catch (LibvirtException e) {
            if (e.getError().getCode() == ErrorNumber.VIR_ERR_NO_DOMAIN) {
                return false;
            }
            throw new HypervisorException("looking up VM " + vm + " on " + uri() + ": " + e.getError().getMessage(), e);
        }
    }

    /** The file the VM's disk currently points at (persistent definition when {@code inactive}). */
    public String diskSource(String vm, String target, boolean inactive) {
        String xml = withDomain(vm, d -> d.getXMLDesc(inactive ? XML_INACTIVE : 0), "read definition");
        return DomainXml.disk(xml, target).map(DomainXml.Disk::source)
                .orElseThrow(() -> new HypervisorException("VM " + vm + " on " + uri() + " has no disk " + target));
    }

    // ================================================================== merge overlay, switch, rollback

    /**
     * Always fresh, empty overlays, also on a retry: whatever a failed or killed attempt half wrote
     * into the previous ones is dropped with them, so the merge starts from the live deltas each time.
     */
    @Override
    public ShadowClone createMergeOverlay(ShadowClone clone, Set<String> diskTargets) {
        ChainRecord r = required(clone);
        if (diskTargets.isEmpty()) {
            throw new HypervisorException("run " + r.chain.runId() + ": a merge overlay needs at least one disk to be on");
        }
        requireShutOff(r.chain.liveVm(), "the merge overlay is created");
        for (String target : diskTargets) {
            if (r.chain.disk(target).isEmpty()) {
                throw new HypervisorException("run " + r.chain.runId() + " did not snapshot disk " + target + " of VM " + r.chain.liveVm()
                        + " (its disks: " + r.chain.targets() + ")");
            }
        }
        String xml = withDomain(r.chain.liveVm(), d -> d.getXMLDesc(XML_INACTIVE), "read definition");
        for (ShadowClone.Disk disk : r.chain.disks()) {
            String current = DomainXml.disk(xml, disk.target()).map(DomainXml.Disk::source).orElse(null);
            if (!disk.liveDelta().toString().equals(current)) {
                throw new HypervisorException("VM " + r.chain.liveVm() + " disk " + disk.target() + " points at " + current
                        + ", not at the live delta " + disk.liveDelta() + " of run " + r.chain.runId()
                        + (disk.mergeOverlay() != null && disk.mergeOverlay().toString().equals(current)
                        ? " (it was already switched to the merge overlay: roll back first)" : ""));
            }
        }
        Map<String, Path> overlays = new LinkedHashMap<>();
        for (ShadowClone.Disk disk : r.chain.disks()) {
            Path overlay = mergeOverlayPath(r.chain, disk);
            if (diskTargets.contains(disk.target())) {
                createOverlay(disk.liveDelta(), "qcow2", overlay); // removes a leftover of an earlier attempt first
            } else {
                ioRun(() -> Files.deleteIfExists(overlay), "remove leftover " + overlay);
            }
            overlays.put(disk.target(), diskTargets.contains(disk.target()) ? overlay : null);
        }
        r.chain = r.chain.withMergeOverlays(overlays);
        r.done.remove(Step.ROLLED_BACK);
        r.done.remove(Step.SWITCHED_TO_MERGE_OVERLAY);
        mark(r, Step.MERGE_OVERLAY_CREATED);
        return r.toClone();
    }

    /**
     * The running VM's disks in {@code diskTargets} move onto new merge overlays in one atomic
     * external snapshot (as {@link #createShadow} takes its own), recorded before it is taken, so a
     * retry after a crash finds the VM on them and only records it.
     */
    @Override
    public ShadowClone snapshotToMergeOverlay(ShadowClone clone, Set<String> diskTargets) {
        ChainRecord r = required(clone);
        if (diskTargets.isEmpty()) {
            throw new HypervisorException("run " + r.chain.runId() + ": a merge overlay needs at least one disk to be on");
        }
        Map<String, Path> overlays = new LinkedHashMap<>();
        for (ShadowClone.Disk disk : r.chain.disks()) {
            overlays.put(disk.target(), diskTargets.contains(disk.target()) ? mergeOverlayPath(r.chain, disk) : null);
        }
        for (String target : diskTargets) {
            if (r.chain.disk(target).isEmpty()) {
                throw new HypervisorException("run " + r.chain.runId() + " did not snapshot disk " + target + " of VM " + r.chain.liveVm()
                        + " (its disks: " + r.chain.targets() + ")");
            }
        }
        return withDomain(r.chain.liveVm(), d -> {
            String xml = d.getXMLDesc(0);
            boolean onOverlays = diskTargets.stream().allMatch(t -> DomainXml.pointsAt(xml, t, overlays.get(t)));
            if (!onOverlays) {
                if (d.getInfo().state != DomainState.VIR_DOMAIN_RUNNING) {
                    throw new HypervisorException("VM " + r.chain.liveVm() + " on " + uri() + " is not running: an online merge"
                            + " snapshots a running VM");
                }
                for (String target : diskTargets) {
                    Path delta = r.chain.disk(target).orElseThrow().liveDelta();
                    if (!DomainXml.pointsAt(xml, target, delta)) {
                        throw new HypervisorException("VM " + r.chain.liveVm() + " disk " + target + " is not on the live delta "
                                + delta + " of run " + r.chain.runId() + ": roll back first");
                    }
                }
                r.chain = r.chain.withMergeOverlays(overlays);
                r.done.remove(Step.ROLLED_BACK);
                store.save(r); // the overlays are named before they exist: a rollback after a crash finds them
                for (Path overlay : overlays.values()) {
                    if (overlay != null) {
                        ioRun(() -> Files.deleteIfExists(overlay), "remove leftover " + overlay);
                    }
                }
                StringBuilder snap = new StringBuilder("<domainsnapshot><name>shadowpatch-online-").append(r.chain.runId())
                        .append("</name><disks>");
                for (DomainXml.Disk disk : DomainXml.disks(xml)) {
                    if (disk.target() == null) {
                        continue;
                    }
                    Path overlay = overlays.get(disk.target());
                    if (overlay != null) {
                        snap.append("<disk name='").append(disk.target()).append("' snapshot='external'><driver type='qcow2'/><source file='")
                                .append(xmlAttr(overlay.toString())).append("'/></disk>");
                    } else if ("disk".equals(disk.device())) {
                        snap.append("<disk name='").append(disk.target()).append("' snapshot='no'/>");
                    }
                }
                String snapXml = snap.append("</disks></domainsnapshot>").toString();
                long t0 = System.nanoTime();
                boolean quiesce = takeSnapshot(d, r.chain.liveVm(), snapXml);
                log.info("VM {} runs on merge overlays {} ({} snapshot in {} ms): the online merge's rollback point",
                        r.chain.liveVm(), overlays, quiesce ? "quiesced" : "crash-consistent", (System.nanoTime() - t0) / 1_000_000);
            } else {
                r.chain = r.chain.withMergeOverlays(overlays);
            }
            r.done.add(Step.MERGE_OVERLAY_CREATED);
            mark(r, Step.SWITCHED_TO_MERGE_OVERLAY);
            return r.toClone();
        }, "online snapshot");
    }

    /** The boot disk's overlay keeps the name of runs before every disk was taken. */
    private Path mergeOverlayPath(ShadowClone chain, ShadowClone.Disk disk) {
        String suffix = disk.target().equals(chain.diskTarget()) ? "" : "-" + disk.target();
        return props.getImageDir().resolve(chain.liveVm() + "-" + chain.runId() + suffix + "-merge.qcow2");
    }

    /**
     * Idempotent: a retry after the VM was already switched (and perhaps started) finds it on the
     * merge overlays and does nothing, instead of refusing because the VM runs. Every disk is
     * switched in one definition: the VM never boots with some disks merged and others not.
     */
    @Override
    public void switchToMergeOverlay(ShadowClone clone) {
        ChainRecord r = required(clone);
        List<ShadowClone.Disk> merged = r.chain.mergedDisks();
        if (!r.has(Step.MERGE_OVERLAY_CREATED) || merged.isEmpty()) {
            throw new HypervisorException("run " + r.chain.runId() + " has no merge overlay to switch VM " + r.chain.liveVm() + " to");
        }
        boolean running = isRunning(r.chain.liveVm());
        String xml = withDomain(r.chain.liveVm(), d -> d.getXMLDesc(running ? 0 : XML_INACTIVE), "read definition");
        Map<String, Path> switchTo = new LinkedHashMap<>();
        for (ShadowClone.Disk disk : merged) {
            if (!DomainXml.pointsAt(xml, disk.target(), disk.mergeOverlay())) {
                switchTo.put(disk.target(), disk.mergeOverlay());
            }
        }
        if (switchTo.isEmpty()) {
            mark(r, Step.SWITCHED_TO_MERGE_OVERLAY);
            return;
        }
        requireShutOff(r.chain.liveVm(), "its disks are switched");
        redefineDisks(r.chain.liveVm(), switchTo);
        mark(r, Step.SWITCHED_TO_MERGE_OVERLAY);
        log.info("VM {} now on merge overlays {}", r.chain.liveVm(), switchTo);
    }

    @Override
    public void rollback(ShadowClone clone) {
        ChainRecord r = required(clone);
        String liveVm = r.chain.liveVm();
        // every overlay this run may have made, also one a killed createMergeOverlay made before recording it
        Map<String, Path> overlays = new LinkedHashMap<>();
        for (ShadowClone.Disk disk : r.chain.disks()) {
            overlays.put(disk.target(), disk.mergeOverlay() != null ? disk.mergeOverlay() : mergeOverlayPath(r.chain, disk));
        }
        // active, not just running: a VM QEMU paused (e.g. on a full disk) still holds the overlay open
        if (state(liveVm) != DomainState.VIR_DOMAIN_SHUTOFF) {
            String running = withDomain(liveVm, d -> d.getXMLDesc(0), "read running definition");
            boolean onOverlay = overlays.entrySet().stream().anyMatch(o ->
                    DomainXml.pointsAt(running, o.getKey(), o.getValue()));
            if (onOverlay) {
                log.warn("VM {} is up on the merge overlay being rolled back: shutting it down", liveVm);
                shutdown(liveVm, props.getShutdownGrace());
            }
        }
        if (state(liveVm) == DomainState.VIR_DOMAIN_SHUTOFF) {
            String xml = withDomain(liveVm, d -> d.getXMLDesc(XML_INACTIVE), "read definition");
            Map<String, Path> back = new LinkedHashMap<>();
            for (ShadowClone.Disk disk : r.chain.disks()) {
                if (!DomainXml.pointsAt(xml, disk.target(), disk.liveDelta())) {
                    back.put(disk.target(), disk.liveDelta());
                }
            }
            if (!back.isEmpty()) {
                redefineDisks(liveVm, back);
            }
        }
        for (Path overlay : overlays.values()) {
            ioRun(() -> Files.deleteIfExists(overlay), "remove merge overlay " + overlay);
        }
        r.chain = r.chain.withoutMergeOverlays();
        r.done.remove(Step.MERGE_OVERLAY_CREATED);
        r.done.remove(Step.SWITCHED_TO_MERGE_OVERLAY);
        mark(r, Step.ROLLED_BACK);
        log.info("VM {} rolled back to its live deltas {}", liveVm, r.chain.disks().stream().map(ShadowClone.Disk::liveDelta).toList());
    }

    // ================================================================== cleanup

    @Override
    public void cleanup(ShadowClone clone) {
        ChainRecord r = required(clone);
        if (r.has(Step.CLEANED)) {
            return;
        }
        removeShadow(r);
        mark(r, Step.SHADOW_REMOVED);
        if (r.has(Step.SNAPSHOT_TAKEN) && !r.has(Step.LIVE_CHAIN_FLATTENED)) {
            flattenLiveChain(r);
        }
        mark(r, Step.CLEANED);
    }

    private void removeShadow(ChainRecord r) {
        undefineIfExists(r.chain.shadowVm());
        List<Path> files = new ArrayList<>(r.chain.disks().stream().map(ShadowClone.Disk::shadowDelta).toList());
        if (r.shadowNvram != null) {
            files.add(Path.of(r.shadowNvram));
        }
        for (Path f : files) {
            ioRun(() -> Files.deleteIfExists(f), "remove " + f);
        }
        r.done.remove(Step.SHADOW_DELTA_CREATED);
        r.done.remove(Step.SHADOW_DEFINED);
        r.done.remove(Step.SHADOW_STARTED);
        store.save(r);
    }

    /**
     * Makes each live disk's top image standalone: {@code virsh blockpull} while the VM runs,
     * {@code qemu-img rebase -b ""} when it is shut off (never a commit into the shared base). Then
     * each base and live delta goes when nothing else references it. A running disk already
     * flattened (a retry after a failure on the next one) has no backing store left and is not
     * pulled again; a rebase of a standalone image changes nothing.
     */
    private void flattenLiveChain(ChainRecord r) {
        if (!exists(r.chain.liveVm())) {
            throw new HypervisorException("live VM " + r.chain.liveVm() + " of run " + r.chain.runId() + " no longer exists on " + uri());
        }
        for (ChainRecord other : store.all()) {
            if (other.chain.runId().equals(r.chain.runId()) || other.has(Step.CLEANED)) {
                continue;
            }
            for (ShadowClone.Disk disk : r.chain.disks()) {
                if (other.chain.disks().stream().anyMatch(o -> o.baseImage().equals(disk.baseImage()))) {
                    log.warn("base {} is still used by run {}: not flattening {} now", disk.baseImage(), other.chain.runId(), r.chain.liveVm());
                    return;
                }
            }
        }
        boolean running = isRunning(r.chain.liveVm());
        List<Path> tops = new ArrayList<>();
        for (ShadowClone.Disk disk : r.chain.disks()) {
            String top = diskSource(r.chain.liveVm(), disk.target(), !running);
            long t0 = System.nanoTime();
            if (running && !DomainXml.hasBackingStore(withDomain(r.chain.liveVm(), d -> d.getXMLDesc(0), "read definition"), disk.target())) {
                log.info("{} of {} is standalone already", top, r.chain.liveVm());
            } else if (running) {
                HostCommand.run(props.getCommandTimeout(), "virsh", "-q", "-c", uri(), "blockpull", r.chain.liveVm(), disk.target(), "--wait")
                        .orThrow("flatten disk " + disk.target() + " of VM " + r.chain.liveVm());
            } else {
                HostCommand.run(props.getCommandTimeout(), "qemu-img", "rebase", "-f", "qcow2", "-b", "", top)
                        .orThrow("flatten " + top + " of VM " + r.chain.liveVm());
            }
            redefineDisk(r.chain.liveVm(), disk.target(), Path.of(top)); // drop the stale <backingStore> from the definition
            log.info("flattened {} of {} in {} ms", top, r.chain.liveVm(), (System.nanoTime() - t0) / 1_000_000);
            tops.add(Path.of(top));
        }
        Set<String> referenced = referencedImages();
        for (ShadowClone.Disk disk : r.chain.disks()) {
            for (Path f : new Path[] {disk.liveDelta(), disk.baseImage()}) {
                if (f != null && !tops.contains(f) && !referenced.contains(f.toString())) {
                    ioRun(() -> Files.deleteIfExists(f), "remove " + f);
                }
            }
        }
        mark(r, Step.LIVE_CHAIN_FLATTENED);
    }

    /** Every image file any defined domain (running or not) refers to, including backing chains. */
    private Set<String> referencedImages() {
        Set<String> out = new HashSet<>();
        try {
            Connect c = conn.get();
            List<String> names = new ArrayList<>(List.of(c.listDefinedDomains()));
            for (int id : c.listDomains()) {
                Domain d = c.domainLookupByID(id);
                names.add(d.getName());
                free(d);
            }
            for (String n : names) {
                for (int flags : new int[] {0, XML_INACTIVE}) {
                    String xml = withDomain(n, d -> d.getXMLDesc(flags), "read definition");
                    var m = java.util.regex.Pattern.compile("<source file=['\"]([^'\"]+)['\"]").matcher(xml);
                    while (m.find()) {
                        out.add(m.group(1));
                    }
                }
            }
        } catch (LibvirtException e) {
            throw new HypervisorException("listing domains on " + uri() + ": " + e.getError().getMessage(), e);
        }
        return out;
    }

    // ================================================================== helpers

    private ChainRecord required(ShadowClone clone) {
        return store.load(clone.runId()).orElseThrow(() -> new HypervisorException(
                "no chain record for run " + clone.runId() + " (" + store.getClass().getSimpleName() + ")"));
    }

    private void mark(ChainRecord r, Step s) {
        r.done.add(s);
        store.save(r);
    }

    private void requireShutOff(String vm, String before) {
        DomainState s = state(vm);
        if (s != DomainState.VIR_DOMAIN_SHUTOFF) {
            throw new HypervisorException("VM " + vm + " on " + uri() + " must be shut off before " + before + " (it is "
                    + s.name().replace("VIR_DOMAIN_", "").toLowerCase() + ")");
        }
    }

    private void redefineDisk(String vm, String target, Path image) {
        redefineDisks(vm, Map.of(target, image));
    }

    /** Several disks in one definition: libvirt takes all of them or none. */
    private void redefineDisks(String vm, Map<String, Path> images) {
        String xml = withDomain(vm, d -> d.getXMLDesc(XML_INACTIVE), "read definition");
        String updated = DomainXml.withDiskSources(xml, images);
        free(call(() -> conn.get().domainDefineXML(updated), "redefine VM " + vm + " with disks " + images));
    }

    private void undefineIfExists(String vm) {
        if (!exists(vm)) {
            return;
        }
        withDomain(vm, d -> {
            if (d.isActive() != 0) {
                d.destroy();
            }
            try {
                d.undefine(VIR_DOMAIN_UNDEFINE_NVRAM);
            } catch (LibvirtException e) {
                d.undefine();
            }
            return null;
        }, "remove");
    }

    /**
     * Creates a qcow2 overlay on {@code backing}, whose format is always explicit: a qcow2 backing
     * must carry its magic; a raw one is taken as the domain XML declared it (its bytes are the guest's).
     */
    private void createOverlay(Path backing, String backingFormat, Path overlay) {
        ioRun(() -> Files.deleteIfExists(overlay), "remove leftover " + overlay);
        if (!PatchableDisk.FORMATS.contains(backingFormat)) {
            throw new HypervisorException(backing + " is " + backingFormat + ": overlays are made on qcow2 or raw images only");
        }
        if ("qcow2".equals(backingFormat)) {
            boolean qcow2;
            try {
                qcow2 = Qcow2.isQcow2(backing);
            } catch (java.io.UncheckedIOException e) {
                throw new HypervisorException(e.getMessage(), e);
            }
            if (!qcow2) {
                throw new HypervisorException(backing + " is not a qcow2 image");
            }
        }
        HostCommand.run(props.getCommandTimeout(), "qemu-img", "create", "-q", "-f", "qcow2", "-F", backingFormat,
                "-b", backing.toString(), overlay.toString()).orThrow("create overlay " + overlay);
    }

    @FunctionalInterface
    interface DomainFn<T> {
        T apply(Domain d) throws LibvirtException;
    }

    @FunctionalInterface
    interface LibvirtCall<T> {
        T call() throws LibvirtException;
    }

    @FunctionalInterface
    interface IoAction {
        void run() throws IOException;
    }

    /** Looks the VM up, runs {@code fn}, frees the handle; errors say what, which VM and where. */
    private <T> T withDomain(String vm, DomainFn<T> fn, String what) {
        Domain d;
        try {
            d = conn.get().domainLookupByName(vm);
        } catch (LibvirtException e) {
            if (e.getError().getCode() == ErrorNumber.VIR_ERR_NO_DOMAIN) {
                throw new HypervisorException("VM " + vm + " not found on " + uri(), e);
            }
            throw new HypervisorException(what + " VM " + vm + " on " + uri() + ": " + e.getError().getMessage(), e);
        }
        try {
            return fn.apply(d);
        } catch (LibvirtException e) {
            throw new HypervisorException(what + " VM " + vm + " on " + uri() + ": " + e.getError().getMessage(), e);
        } finally {
            free(d);
        }
    }

    private <T> T call(LibvirtCall<T> c, String what) {
        try {
            return c.call();
        } catch (LibvirtException e) {
            throw new HypervisorException(what + " on " + uri() + ": " + e.getError().getMessage(), e);
        }
    }

    private static void ioRun(IoAction a, String what) {
        try {
            a.run();
        } catch (IOException e) {
            throw new HypervisorException("cannot " + what + ": " + e, e);
        }
    }

    private static void free(Domain d) {
        if (d != null) {
            try {
                d.free();
            } catch (LibvirtException ignored) {
                // already freed
            }
        }
    }

    private void awaitEvent(long millis) {
        try {
            conn.awaitEvent(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HypervisorException("interrupted while waiting for libvirt on " + uri());
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HypervisorException("interrupted");
        }
    }

    private static String xmlAttr(String s) {
        return s.replace("&", "&amp;").replace("'", "&apos;").replace("<", "&lt;").replace("\"", "&quot;");
    }

    @Override
    public void close() {
        conn.close();
    }
}
