package dev.shadowpatch.virt;

/**
 * Where a VM answers, and who said so. The source is kept with the address because the three
 * sources are not equally trustworthy, and an auditor must be able to see which one a run used:
 * a DHCP lease is the host's own record, the guest agent's answer is the guest's word (a guest can
 * report anything; SSH host-key checking is what authenticates the VM at that address), and a
 * configured address is an operator's (inventory or run request) that nothing on the host confirms.
 */
public record VmAddress(String address, Source source) {

    public enum Source {
        /** {@code VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT}: the qemu-guest-agent inside the VM. */
        GUEST_AGENT("guest-agent"),
        /** {@code VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE}: libvirt's dnsmasq handed it out. */
        DHCP_LEASE("dhcp-lease"),
        /** The run's {@code configuredLiveAddress} (a campaign passes the inventory's {@code address}). */
        CONFIGURED("configured");

        /** The word in logs and in the run variables {@code liveAddressSource} / {@code shadowAddressSource}. */
        public final String word;

        Source(String word) {
            this.word = word;
        }
    }

    @Override
    public String toString() {
        return address + " (from " + source.word + ")";
    }
}
