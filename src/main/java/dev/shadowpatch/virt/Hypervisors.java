package dev.shadowpatch.virt;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The hypervisor of a host by name: the configured one ({@code shadowpatch.libvirt.uri}) for a run
 * that names no host, so single-VM runs work as before; otherwise the inventory's host, connected
 * once and reused.
 */
public class Hypervisors {
    private final Hypervisor defaultHypervisor;
    private final HypervisorFactory factory;
    private final HostDirectory hosts;
    private final Map<String, Hypervisor> connected = new ConcurrentHashMap<>();

    public Hypervisors(Hypervisor defaultHypervisor, HypervisorFactory factory, HostDirectory hosts) {
        this.defaultHypervisor = defaultHypervisor;
        this.factory = factory;
        this.hosts = hosts;
    }

    /** @param hostName an inventory host, or null/blank for the configured default */
    public Hypervisor forHost(String hostName) {
        if (hostName == null || hostName.isBlank()) {
            return defaultHypervisor;
        }
        return connected.computeIfAbsent(hostName, name -> factory.connect(name, hosts.uriOf(name)
                .orElseThrow(() -> new IllegalArgumentException("Hypervisor host '" + name
                        + "' is not in the inventory (shadowpatch.inventory-file); add it under hosts"))));
    }
}
