package dev.shadowpatch.lab;

import static org.assertj.core.api.Assertions.assertThat;

import dev.shadowpatch.guest.GuestTarget;
import dev.shadowpatch.guest.JschGuestShell;
import dev.shadowpatch.virt.HostCommand;
import dev.shadowpatch.virt.LibvirtHypervisor;
import dev.shadowpatch.virt.VmAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * A VM no DHCP lease tells about (issue 14, point 5): a lab VM is given a static address in its
 * own /etc/network/interfaces, then moved to a throwaway libvirt network without {@code <dhcp>}
 * ({@code sp-nodhcp}) and rebooted. Its address must come from the guest agent, while libvirt's
 * lease lookup (what the hypervisor used alone before) has nothing.
 */
@Tag("vm")
@Timeout(value = 15, unit = java.util.concurrent.TimeUnit.MINUTES)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StaticAddressVmTest {
    static final String VM = "sp-addr-static";
    static final String NETWORK = "sp-nodhcp";
    static final String SUBNET = "10.213.77.";
    static final String STATIC = SUBNET + "50";
    static final Duration CMD = Duration.ofSeconds(60);

    LabVm lab;
    LibvirtHypervisor hv;
    String uri;

    @BeforeAll
    void staticVmOnANetworkWithoutDhcp() throws Exception {
        var lp = LabVm.libvirtProperties();
        uri = lp.getUri();
        assertThat(HostCommand.run(CMD, "ip", "-4", "route").stdout()).as("the test's subnet is free on this host")
                .doesNotContain(SUBNET + "0/24");
        lab = LabVm.fresh(VM);
        hv = new LibvirtHypervisor(lp);
        JschGuestShell shell = new JschGuestShell(lab.guestProperties());

        StringBuilder interfaces = new StringBuilder("auto lo\niface lo inet loopback\n");
        for (String nic : new String[] {"ens2", "ens3", "enp1s0", "eth0"}) { // the names the lab image knows; one exists
            interfaces.append("allow-hotplug ").append(nic).append("\niface ").append(nic)
                    .append(" inet static\n    address ").append(STATIC).append("/24\n    gateway ").append(SUBNET).append("1\n");
        }
        shell.check(lab.target(), "cat > /etc/network/interfaces <<'EOF'\n" + interfaces + "EOF\nsync", CMD);

        Path xml = Files.createTempFile("sp-nodhcp", ".xml");
        Files.writeString(xml, "<network><name>" + NETWORK + "</name><bridge name='spnodhcp0' stp='on' delay='0'/>"
                + "<ip address='" + SUBNET + "1' netmask='255.255.255.0'/></network>"); // no <forward>, no <dhcp>
        LabVm.virsh(uri, "net-create", xml.toString()); // transient: gone with net-destroy
        Files.delete(xml);

        hv.shutdown(VM, Duration.ofSeconds(90));
        String definition = LabVm.virsh(uri, "dumpxml", "--inactive", VM);
        assertThat(definition).contains("<source network='default'/>");
        Path moved = Files.createTempFile(VM, ".xml");
        Files.writeString(moved, definition.replace("<source network='default'/>", "<source network='" + NETWORK + "'/>"));
        LabVm.virsh(uri, "define", moved.toString());
        Files.delete(moved);
        hv.start(VM);
    }

    @AfterAll
    void removeVmAndNetwork() {
        try {
            if (hv != null) {
                hv.close();
            }
        } finally {
            LabVm.delete(VM);
            HostCommand.run(CMD, "virsh", "-c", uri == null ? "qemu:///system" : uri, "net-destroy", NETWORK);
        }
    }

    @Test
    void theStaticAddressComesFromTheGuestAgentWhereNoLeaseExists() throws Exception {
        long t0 = System.nanoTime();
        VmAddress found = hv.waitForAddress(VM, Duration.ofMinutes(5), "192.0.2.99");
        System.out.println("static VM address " + found + " " + (System.nanoTime() - t0) / 1_000_000 + " ms after start");

        assertThat(found).isEqualTo(new VmAddress(STATIC, VmAddress.Source.GUEST_AGENT));
        assertThat(LabVm.virsh(uri, "domifaddr", VM, "--source", "lease")).as("libvirt has no lease for it")
                .doesNotContain("ipv4");
        assertThat(LabVm.virsh(uri, "domifaddr", VM, "--source", "agent")).as("the agent also reports loopback, which was skipped")
                .contains("127.0.0.1");

        GuestTarget target = GuestTarget.direct(found.address(), "root").withHostKeyAlias(VM);
        LabVm.awaitSsh(new JschGuestShell(lab.guestProperties()), target, Duration.ofMinutes(2));
        assertThat(new JschGuestShell(lab.guestProperties()).check(target, "ip -4 -o addr show scope global", CMD).stdout())
                .as("the VM answers SSH at the address, and it is its own static one").contains(STATIC + "/24");
    }
}
