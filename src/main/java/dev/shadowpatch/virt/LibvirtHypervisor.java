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
import java.util.List;
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
            if (!r.has(Step.SHADOW_DELTA_CREATED) || !Files.exists(r.chain.shadowDelta())) {
                createOverlay(r.chain.baseImage(), r.chain.baseFormat(), r.chain.shadowDelta());
                mark(r, Step.SHADOW_DELTA_CREATED);
            }
            ensureIsolatedNetwork();
            if (!r.has(Step.SHADOW_DEFINED) || !exists(r.chain.shadowVm())) {
                defineShadow(r);
                mark(r, Step.SHADOW_DEFINED);
            }
            start(r.chain.shadowVm());
            mark(r, Step.SHADOW_STARTED);
            log.info("shadow {} of {} runs on {} (base {}, live delta {})", r.chain.shadowVm(), liveVm, r.chain.shadowDelta(), r.chain.baseImage(), r.chain.liveDelta());
            return r.toClone();
        } catch (RuntimeException e) {
            // Nothing half-made: the shadow side goes; the snapshot stays recorded (cleanup() flattens it).
            try {
                removeShadow(r);
            } catch (RuntimeException undo) {
                e.addSuppressed(undo);
            }
            throw new HypervisorException("shadow of VM " + liveVm + " (run " + runId + ") on " + uri() + " failed: "
                    + e.getMessage() + "; the live VM keeps running on " + r.chain.liveDelta()
                    + " (retry createShadow, or cleanup to flatten)", e);
        }
    }

    private ChainRecord snapshot(String liveVm, String runId, ChainRecord existing) {
        return withDomain(liveVm, d -> {
            DomainState state = d.getInfo().state;
            String xml = d.getXMLDesc(0);
            Path imageDir = props.getImageDir();
            String liveDelta = imageDir.resolve(liveVm + "-" + runId + "-live.qcow2").toString();
            DomainXml.Disk disk = DomainXml.patchDisk(xml, existing == null ? null : existing.chain.diskTarget());
            if (existing != null && liveDelta.equals(disk.source())) {
                // The snapshot happened but the orchestrator died before recording it.
                mark(existing, Step.SNAPSHOT_TAKEN);
                return existing;
            }
            if (state != DomainState.VIR_DOMAIN_RUNNING) {
                throw new HypervisorException("VM " + liveVm + " on " + uri() + " is not running (state "
                        + state.name().replace("VIR_DOMAIN_", "").toLowerCase() + "): a shadow is taken of a running VM");
            }
            Optional<String> notPatchable = PatchableDisk.whyNot(liveVm, disk).or(() -> notARegularFile(liveVm, disk));
            if (notPatchable.isPresent()) {
                throw new HypervisorException(notPatchable.get() + " (on " + uri() + ")");
            }
            String shadowVm = liveVm + "-shadow-" + runId;
            ChainRecord r = existing != null ? existing : new ChainRecord();
            r.chain = new ShadowClone(runId, liveVm, shadowVm, disk.target(), Path.of(disk.source()), Path.of(liveDelta),
                    imageDir.resolve(shadowVm + ".qcow2"), null, disk.format());
            ioRun(() -> Files.createDirectories(imageDir), "create image directory " + imageDir);
            ioRun(() -> Files.deleteIfExists(Path.of(liveDelta)), "remove leftover " + liveDelta);
            store.save(r); // intended paths recorded before anything changes

            String snapXml = snapshotXml(xml, r);
            int flags = Domain.SnapshotCreateFlags.DISK_ONLY | Domain.SnapshotCreateFlags.ATOMIC
                    | Domain.SnapshotCreateFlags.NO_METADATA;
            boolean quiesce = props.isQuiesce() && agentAnswers(d);
            long t0 = System.nanoTime();
            if (quiesce) {
                try {
                    d.snapshotCreateXML(snapXml, flags | Domain.SnapshotCreateFlags.QUIESCE);
                } catch (LibvirtException e) {
                    log.warn("quiesced snapshot of {} failed ({}); taking a crash-consistent one", liveVm, e.getError().getMessage());
                    quiesce = false;
                    d.snapshotCreateXML(snapXml, flags);
                }
            } else {
                d.snapshotCreateXML(snapXml, flags);
            }
            r.quiesced = quiesce;
            r.snapshotAt = Instant.now();
            mark(r, Step.SNAPSHOT_TAKEN);
            log.info("snapshot of {} in {} ms ({}): base {}, live delta {}", liveVm, (System.nanoTime() - t0) / 1_000_000,
                    quiesce ? "quiesced" : "crash-consistent", r.chain.baseImage(), r.chain.liveDelta());
            return r;
        }, "snapshot");
    }

    private static String snapshotXml(String domainXml, ChainRecord r) {
        StringBuilder s = new StringBuilder("<domainsnapshot><name>shadowpatch-").append(r.chain.runId())
                .append("</name><description>Shadow Patching run ").append(r.chain.runId()).append("</description><disks>");
        for (DomainXml.Disk d : DomainXml.disks(domainXml)) {
            if (d.target() == null) {
                continue;
            }
            if (d.target().equals(r.chain.diskTarget())) {
                s.append("<disk name='").append(d.target()).append("' snapshot='external'><driver type='qcow2'/>")
                        .append("<source file='").append(xmlAttr(r.chain.liveDelta().toString())).append("'/></disk>");
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
        r.droppedDevices = DomainXml.sharedDevices(liveXml, r.chain.diskTarget());
        if (!r.droppedDevices.isEmpty()) {
            log.warn("shadow {} of {} gets none of what the live VM shares: {}", r.chain.shadowVm(), r.chain.liveVm(),
                    String.join("; ", r.droppedDevices));
        }
        String xml = DomainXml.shadowDefinition(liveXml, r.chain.shadowVm(), r.chain.diskTarget(), r.chain.shadowDelta(),
                props.getShadowNetwork(), nvram);
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
            DomainXml.Disk disk = DomainXml.patchDisk(withDomain(vm, d -> d.getXMLDesc(0), "read definition"), null);
            PatchableDisk.whyNot(vm, disk).or(() -> notARegularFile(vm, disk)).ifPresent(problems::add);
        } catch (RuntimeException e) {
            problems.add("VM " + vm + ": " + e.getMessage());
        }
        return problems;
    }

    @Override
    public List<String> sharedDevices(String vm) {
        String xml = withDomain(vm, d -> d.getXMLDesc(XML_INACTIVE), "read definition");
        return DomainXml.sharedDevices(xml, DomainXml.patchDisk(xml, null).target());
    }

    @Override
    public java.util.Map<String, DomainXml.Disk> fileDisks(String vm) {
        return DomainXml.fileDisks(withDomain(vm, d -> d.getXMLDesc(0), "read definition"));
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
     * Always a fresh, empty overlay, also on a retry: whatever a failed or killed attempt half wrote
     * into the previous one is dropped with it, so the merge starts from the live delta each time.
     */
    @Override
    public ShadowClone createMergeOverlay(ShadowClone clone) {
        ChainRecord r = required(clone);
        requireShutOff(r.chain.liveVm(), "the merge overlay is created");
        String current = diskSource(r.chain.liveVm(), r.chain.diskTarget(), true);
        if (!current.equals(r.chain.liveDelta().toString())) {
            throw new HypervisorException("VM " + r.chain.liveVm() + " disk " + r.chain.diskTarget() + " points at " + current
                    + ", not at the live delta " + r.chain.liveDelta() + " of run " + r.chain.runId()
                    + (Path.of(current).equals(r.chain.mergeOverlay()) ? " (it was already switched to the merge overlay: roll back first)" : ""));
        }
        Path overlay = props.getImageDir().resolve(r.chain.liveVm() + "-" + r.chain.runId() + "-merge.qcow2");
        createOverlay(r.chain.liveDelta(), "qcow2", overlay); // removes a leftover of an earlier attempt first
        r.mergeOverlay(overlay);
        r.done.remove(Step.ROLLED_BACK);
        r.done.remove(Step.SWITCHED_TO_MERGE_OVERLAY);
        mark(r, Step.MERGE_OVERLAY_CREATED);
        return r.toClone();
    }

    /**
     * Idempotent: a retry after the VM was already switched (and perhaps started) finds it on the
     * merge overlay and does nothing, instead of refusing because the VM runs.
     */
    @Override
    public void switchToMergeOverlay(ShadowClone clone) {
        ChainRecord r = required(clone);
        if (!r.has(Step.MERGE_OVERLAY_CREATED) || r.chain.mergeOverlay() == null) {
            throw new HypervisorException("run " + r.chain.runId() + " has no merge overlay to switch VM " + r.chain.liveVm() + " to");
        }
        boolean running = isRunning(r.chain.liveVm());
        if (r.chain.mergeOverlay().toString().equals(diskSource(r.chain.liveVm(), r.chain.diskTarget(), !running))) {
            mark(r, Step.SWITCHED_TO_MERGE_OVERLAY);
            return;
        }
        requireShutOff(r.chain.liveVm(), "its disk is switched");
        redefineDisk(r.chain.liveVm(), r.chain.diskTarget(), r.chain.mergeOverlay());
        mark(r, Step.SWITCHED_TO_MERGE_OVERLAY);
        log.info("VM {} disk {} now on merge overlay {}", r.chain.liveVm(), r.chain.diskTarget(), r.chain.mergeOverlay());
    }

    @Override
    public void rollback(ShadowClone clone) {
        ChainRecord r = required(clone);
        Path overlay = r.chain.mergeOverlay();
        // active, not just running: a VM QEMU paused (e.g. on a full disk) still holds the overlay open
        if (overlay != null && state(r.chain.liveVm()) != DomainState.VIR_DOMAIN_SHUTOFF
                && overlay.toString().equals(diskSource(r.chain.liveVm(), r.chain.diskTarget(), false))) {
            log.warn("VM {} is up on the merge overlay being rolled back: shutting it down", r.chain.liveVm());
            shutdown(r.chain.liveVm(), props.getShutdownGrace());
        }
        if (state(r.chain.liveVm()) == DomainState.VIR_DOMAIN_SHUTOFF && !r.chain.liveDelta().toString().equals(diskSource(r.chain.liveVm(), r.chain.diskTarget(), true))) {
            redefineDisk(r.chain.liveVm(), r.chain.diskTarget(), r.chain.liveDelta());
        }
        if (overlay != null) {
            ioRun(() -> Files.deleteIfExists(overlay), "remove merge overlay " + overlay);
        }
        r.mergeOverlay(null);
        r.done.remove(Step.MERGE_OVERLAY_CREATED);
        r.done.remove(Step.SWITCHED_TO_MERGE_OVERLAY);
        mark(r, Step.ROLLED_BACK);
        log.info("VM {} rolled back to {}", r.chain.liveVm(), r.chain.liveDelta());
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
        for (Path f : new Path[] {r.chain.shadowDelta(), r.shadowNvram == null ? null : Path.of(r.shadowNvram)}) {
            if (f != null) {
                ioRun(() -> Files.deleteIfExists(f), "remove " + f);
            }
        }
        r.done.remove(Step.SHADOW_DELTA_CREATED);
        r.done.remove(Step.SHADOW_DEFINED);
        r.done.remove(Step.SHADOW_STARTED);
        store.save(r);
    }

    /**
     * Makes the live VM's top image standalone: {@code virsh blockpull} while it runs, {@code qemu-img
     * rebase -b ""} when it is shut off (never a commit into the shared base). Then the base and the
     * live delta go when nothing else references them.
     */
    private void flattenLiveChain(ChainRecord r) {
        if (!exists(r.chain.liveVm())) {
            throw new HypervisorException("live VM " + r.chain.liveVm() + " of run " + r.chain.runId() + " no longer exists on " + uri());
        }
        for (ChainRecord other : store.all()) {
            if (!other.chain.runId().equals(r.chain.runId()) && !other.has(Step.CLEANED) && r.chain.baseImage().equals(other.chain.baseImage())) {
                log.warn("base {} is still used by run {}: not flattening {} now", r.chain.baseImage(), other.chain.runId(), r.chain.liveVm());
                return;
            }
        }
        boolean running = isRunning(r.chain.liveVm());
        String top = diskSource(r.chain.liveVm(), r.chain.diskTarget(), !running);
        long t0 = System.nanoTime();
        if (running) {
            HostCommand.run(props.getCommandTimeout(), "virsh", "-q", "-c", uri(), "blockpull", r.chain.liveVm(), r.chain.diskTarget(), "--wait")
                    .orThrow("flatten disk " + r.chain.diskTarget() + " of VM " + r.chain.liveVm());
        } else {
            HostCommand.run(props.getCommandTimeout(), "qemu-img", "rebase", "-f", "qcow2", "-b", "", top)
                    .orThrow("flatten " + top + " of VM " + r.chain.liveVm());
        }
        redefineDisk(r.chain.liveVm(), r.chain.diskTarget(), Path.of(top)); // drop the stale <backingStore> from the definition
        log.info("flattened {} of {} in {} ms", top, r.chain.liveVm(), (System.nanoTime() - t0) / 1_000_000);
        Set<String> referenced = referencedImages();
        for (Path f : new Path[] {r.chain.liveDelta(), r.chain.baseImage()}) {
            if (f != null && !f.toString().equals(top) && !referenced.contains(f.toString())) {
                ioRun(() -> Files.deleteIfExists(f), "remove " + f);
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
        String xml = withDomain(vm, d -> d.getXMLDesc(XML_INACTIVE), "read definition");
        String updated = DomainXml.withDiskSource(xml, target, image);
        free(call(() -> conn.get().domainDefineXML(updated), "redefine VM " + vm + " with disk " + image));
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
