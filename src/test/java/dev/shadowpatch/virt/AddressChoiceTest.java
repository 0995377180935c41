package dev.shadowpatch.virt;

import dev.shadowpatch.virt.AddressChoice.Nic;
import dev.shadowpatch.virt.VmAddress.Source;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Which address a VM is reached at: one line per case, as libvirt would report the interfaces. */
class AddressChoiceTest {
    static final String NIC = "52:54:00:aa:bb:01";
    static final String NIC2 = "52:54:00:aa:bb:02";
    static final List<String> ONE_NIC = List.of(NIC);

    static Nic nic(String name, String mac, String... addrs) {
        List<InetAddress> a = new ArrayList<>();
        for (String s : addrs) {
            try {
                a.add(InetAddress.getByName(s)); // literals only: nothing is looked up
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException(s, e);
            }
        }
        return new Nic(name, mac, a);
    }

    static Nic lease(String mac, String addr) {
        return nic(null, mac, addr);
    }

    static final Nic LO = nic("lo", "00:00:00:00:00:00", "127.0.0.1", "::1");

    static void expect(Optional<VmAddress> got, String address, Source source) {
        assertEquals(address == null ? Optional.empty() : Optional.of(new VmAddress(address, source)), got);
    }

    static Optional<VmAddress> choose(List<Nic> agent, List<Nic> leases) {
        return AddressChoice.choose(ONE_NIC, agent, leases, null);
    }

    // --- the guest agent first ---
    @Test @DisplayName("static address, no lease: the agent's")
    void staticAddressFromTheAgent() { expect(choose(List.of(LO, nic("ens2", NIC, "10.77.0.50", "fe80::1")), List.of()), "10.77.0.50", Source.GUEST_AGENT); }
    @Test @DisplayName("agent and lease both answer: the agent's")
    void agentBeforeLease() { expect(choose(List.of(nic("ens2", NIC, "192.168.122.9")), List.of(lease(NIC, "192.168.122.8"))), "192.168.122.9", Source.GUEST_AGENT); }
    @Test void macIsComparedWithoutCase() { expect(choose(List.of(nic("ens2", NIC.toUpperCase(), "10.0.0.5")), List.of()), "10.0.0.5", Source.GUEST_AGENT); }
    @Test @DisplayName("a guest bridge that took the NIC's MAC carries the NIC's address")
    void guestBridgeOverTheNic() { expect(choose(List.of(nic("ens2", NIC), nic("br0", NIC, "10.0.0.6")), List.of()), "10.0.0.6", Source.GUEST_AGENT); }

    // --- what the agent reports that is not the VM's address ---
    @Test void loopbackOnlyIsNoAddress() { expect(choose(List.of(LO), List.of()), null, null); }
    @Test void linkLocalOnlyIsNoAddress() { expect(choose(List.of(nic("ens2", NIC, "169.254.3.4", "fe80::5054:ff:feaa:bb01")), List.of()), null, null); }
    @Test @DisplayName("docker0 (its own MAC) is skipped, the NIC's lease is taken")
    void dockerBridgeIsSkipped() {
        expect(choose(List.of(nic("docker0", "02:42:ac:11:00:01", "172.17.0.1"), nic("ens2", NIC)), List.of(lease(NIC, "192.168.122.8"))),
                "192.168.122.8", Source.DHCP_LEASE);
    }
    @Test @DisplayName("a container bridge given the NIC's MAC is still skipped")
    void containerBridgeWithTheNicsMacIsSkipped() { expect(choose(List.of(nic("docker0", NIC, "172.17.0.1"), nic("veth12ab", NIC, "172.17.0.2")), List.of()), null, null); }
    @Test void nestedLibvirtBridgeIsSkipped() { expect(choose(List.of(nic("virbr0", "52:54:00:12:34:56", "192.168.122.1")), List.of()), null, null); }
    @Test @DisplayName("an interface whose MAC is none of the domain's (a VPN, a tunnel) is skipped")
    void foreignMacIsSkipped() { expect(choose(List.of(nic("wg0", null, "10.9.0.2"), nic("eth9", "52:54:00:ff:ff:ff", "10.8.0.2")), List.of()), null, null); }
    @Test @DisplayName("IPv6 only: no address (SSH targets are IPv4 here)")
    void ipv6OnlyIsNoAddress() { expect(choose(List.of(nic("ens2", NIC, "2001:db8::5")), List.of()), null, null); }
    @Test void unspecifiedAndMulticastAreNoAddress() { expect(choose(List.of(nic("ens2", NIC, "0.0.0.0", "224.0.0.1")), List.of()), null, null); }

    // --- then the leases, then the configured address ---
    @Test @DisplayName("no agent (null): the lease")
    void noAgentTheLease() { expect(choose(null, List.of(lease(NIC, "192.168.122.8"))), "192.168.122.8", Source.DHCP_LEASE); }
    @Test void leaseOfAnotherMacIsSkipped() { expect(choose(null, List.of(lease("52:54:00:00:00:09", "192.168.122.7"))), null, null); }
    @Test @DisplayName("nothing found, an address configured: the configured one")
    void configuredLast() {
        expect(AddressChoice.choose(ONE_NIC, null, List.of(), " 10.20.0.5 "), "10.20.0.5", Source.CONFIGURED);
        expect(AddressChoice.choose(ONE_NIC, List.of(LO), List.of(), "db-01.lan"), "db-01.lan", Source.CONFIGURED);
    }
    @Test @DisplayName("a discovered address beats the configured one")
    void discoveredBeatsConfigured() { expect(AddressChoice.choose(ONE_NIC, null, List.of(lease(NIC, "192.168.122.8")), "10.20.0.5"), "192.168.122.8", Source.DHCP_LEASE); }
    @Test void nothingAtAll() { expect(AddressChoice.choose(ONE_NIC, null, List.of(), null), null, null); }

    @Test @DisplayName("a shadow's agent reporting the live VM's static address outside the isolated subnet: not taken")
    void shadowOnlyInsideItsIsolatedSubnet() {
        java.util.function.Predicate<InetAddress> isolated = a -> a.getHostAddress().startsWith("192.168.150.");
        expect(AddressChoice.choose(ONE_NIC, List.of(nic("ens2", NIC, "10.213.77.50")), List.of(), null, isolated), null, null);
        expect(AddressChoice.choose(ONE_NIC, List.of(nic("ens2", NIC, "10.213.77.50")), List.of(lease(NIC, "192.168.150.23")), null, isolated),
                "192.168.150.23", Source.DHCP_LEASE);
    }

    // --- several NICs: the domain's order decides ---
    @Test @DisplayName("two NICs: the first NIC of the domain, whatever order the agent lists them in")
    void domainNicOrderDecides() {
        expect(AddressChoice.choose(List.of(NIC, NIC2), List.of(nic("ens3", NIC2, "10.0.1.2"), nic("ens2", NIC, "10.0.0.2")), List.of(), null),
                "10.0.0.2", Source.GUEST_AGENT);
        expect(AddressChoice.choose(List.of(NIC, NIC2), List.of(nic("ens3", NIC2, "10.0.1.2"), nic("ens2", NIC)), List.of(), null),
                "10.0.1.2", Source.GUEST_AGENT);
    }

    // --- what may be configured ---
    @Test void configuredAddressesThatAreAccepted() {
        for (String ok : List.of("10.20.0.5", "web-01", "web-01.lan.example", "fd00::5", "::1", "2001:db8:0:0:0:0:0:1", "::ffff:10.0.0.1")) {
            assertEquals(Optional.empty(), AddressChoice.problemWith(ok), ok);
        }
    }
    @Test void configuredAddressesThatAreRefused() {
        for (String bad : List.of("", " ", "10.0.0.256", "10.0.0", "-web", "web_01", "a b", "web;reboot", "1:2:3:4:5:6:7:8:9", "fd00::5::6", "gggg::1", "fe80::1%ens2")) {
            assertEquals(true, AddressChoice.problemWith(bad).isPresent(), "should refuse '" + bad + "'");
        }
    }
}
