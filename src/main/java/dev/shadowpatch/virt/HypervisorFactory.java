package dev.shadowpatch.virt;

/** Makes the {@link Hypervisor} of one host, reached through its libvirt URI. */
@FunctionalInterface
public interface HypervisorFactory {
    Hypervisor connect(String hostName, String uri);
}
