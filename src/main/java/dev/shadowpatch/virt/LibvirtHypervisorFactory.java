package dev.shadowpatch.virt;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * One {@link LibvirtHypervisor} per remote host, with the local settings (image and state
 * directories, networks) and the host's URI. Closes what it made when the application stops.
 */
public class LibvirtHypervisorFactory implements HypervisorFactory, AutoCloseable {
    private final LibvirtProperties local;
    private final ChainStore chains;
    private final List<LibvirtHypervisor> made = new CopyOnWriteArrayList<>();

    public LibvirtHypervisorFactory(LibvirtProperties local, ChainStore chains) {
        this.local = local;
        this.chains = chains;
    }

    @Override
    public Hypervisor connect(String hostName, String uri) {
        LibvirtHypervisor hypervisor = new LibvirtHypervisor(local.withUri(uri), chains);
        made.add(hypervisor);
        return hypervisor;
    }

    @Override
    public void close() {
        made.forEach(LibvirtHypervisor::close);
    }
}
