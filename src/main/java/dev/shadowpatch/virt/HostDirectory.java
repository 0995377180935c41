package dev.shadowpatch.virt;

import java.util.Optional;

/** Where a hypervisor host is: its libvirt URI by host name (the inventory answers this). */
@FunctionalInterface
public interface HostDirectory {
    Optional<String> uriOf(String hostName);
}
