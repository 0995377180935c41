package dev.shadowpatch.virt;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Which address a VM is reached at, decided from what libvirt reports: a pure function, so every
 * case is a line of a table ({@code AddressChoiceTest}). Order: the guest agent (it also knows
 * static and bridged addresses, which no lease records), then libvirt's DHCP leases, then the
 * address configured for the VM. From the agent only interfaces that are the domain's own NICs
 * count: the interface's MAC must be one of the domain XML's {@code <mac>} (that drops loopback,
 * docker0, veths, bridges and tunnels the guest made for itself), and container or virtual bridge
 * names are dropped even if their MAC was set to the NIC's. A guest bridge that enslaved the NIC
 * (br0 with the NIC's MAC, the kernel's default) is the NIC's address and counts. Addresses are
 * IPv4, neither loopback, link-local, unspecified nor multicast. Among several, the domain's NIC
 * order decides, then the order the source lists them in, so the answer is stable across looks.
 */
public final class AddressChoice {

    /** One interface as a source reports it. {@code name} may be null (leases have none). */
    public record Nic(String name, String mac, List<InetAddress> addresses) {
    }

    /** Interface names of container runtimes and nested virtualisation inside a guest. */
    private static final Pattern GUEST_VIRTUAL = Pattern.compile(
            "^(lo|docker\\d*|br-[0-9a-f]+|veth.*|virbr\\d+.*|cni\\d*|podman\\d*|lxcbr\\d*|lxdbr\\d*|flannel.*|cali.*|vxlan.*|tun\\d*|tap\\d*|kube-.*|weave|cilium_.*)$");

    /** A host name (RFC 1123 labels, at most 253 characters) or an IPv4 literal; IPv6 literals are checked apart. */
    private static final Pattern HOST_NAME = Pattern.compile(
            "^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$");
    private static final Pattern IPV4 = Pattern.compile("^(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}$");
    private static final Pattern DOTTED_NUMBERS = Pattern.compile("^[0-9.]+$");
    private static final Pattern HEX_GROUP = Pattern.compile("^[0-9A-Fa-f]{1,4}$");

    private AddressChoice() {
    }

    /**
     * The address to use, or empty when no source has one yet.
     *
     * @param domainMacs the domain's NIC MACs in definition order
     * @param agent      what the guest agent reports; null when it did not answer
     * @param leases     libvirt's leases for the domain
     * @param configured the configured address, or null
     */
    public static Optional<VmAddress> choose(List<String> domainMacs, List<Nic> agent, List<Nic> leases, String configured) {
        return choose(domainMacs, agent, leases, configured, a -> true);
    }

    /**
     * As {@link #choose(List, List, List, String)}, taking only addresses {@code allowed} accepts. A
     * shadow passes its isolated subnet: a clone of a static-address VM reports the live VM's own
     * address through its agent, and the host would reach the live VM there (same host key), so a
     * patch meant for the shadow would run on the live VM.
     */
    public static Optional<VmAddress> choose(List<String> domainMacs, List<Nic> agent, List<Nic> leases, String configured,
                                             Predicate<InetAddress> allowed) {
        return first(domainMacs, agent, true, allowed).map(a -> new VmAddress(a, VmAddress.Source.GUEST_AGENT))
                .or(() -> first(domainMacs, leases, false, allowed).map(a -> new VmAddress(a, VmAddress.Source.DHCP_LEASE)))
                .or(() -> configured == null || configured.isBlank() ? Optional.empty()
                        : Optional.of(new VmAddress(configured.strip(), VmAddress.Source.CONFIGURED)));
    }

    private static Optional<String> first(List<String> domainMacs, List<Nic> nics, boolean fromGuest, Predicate<InetAddress> allowed) {
        if (nics == null) {
            return Optional.empty();
        }
        for (String mac : domainMacs) {
            for (Nic nic : nics) {
                if (nic.mac() == null || !mac.equalsIgnoreCase(nic.mac())) {
                    continue;
                }
                if (fromGuest && nic.name() != null && GUEST_VIRTUAL.matcher(nic.name().toLowerCase(Locale.ROOT)).matches()) {
                    continue;
                }
                for (InetAddress a : nic.addresses()) {
                    if (usable(a) && allowed.test(a)) {
                        return Optional.of(a.getHostAddress());
                    }
                }
            }
        }
        return Optional.empty();
    }

    static boolean usable(InetAddress a) {
        return a instanceof Inet4Address && !a.isLoopbackAddress() && !a.isLinkLocalAddress()
                && !a.isAnyLocalAddress() && !a.isMulticastAddress() && !"255.255.255.255".equals(a.getHostAddress());
    }

    /**
     * Why {@code value} cannot be a configured address (an IPv4 or IPv6 literal, or a host name),
     * or empty when it can. Checked without any name lookup, at inventory load and at a run's start.
     */
    public static Optional<String> problemWith(String value) {
        if (value == null || value.isBlank()) {
            return Optional.of("the address is empty");
        }
        String v = value.strip();
        if (v.contains(":")) {
            return isIpv6(v) ? Optional.empty() : Optional.of("'" + v + "' is not an IPv6 address");
        }
        if (DOTTED_NUMBERS.matcher(v).matches()) {
            return IPV4.matcher(v).matches() ? Optional.empty() : Optional.of("'" + v + "' is not an IPv4 address");
        }
        return HOST_NAME.matcher(v).matches() ? Optional.empty()
                : Optional.of("'" + v + "' is neither an IP address nor a host name");
    }

    /** An IPv6 literal (eight groups, one {@code ::}, an IPv4 tail), parsed by hand: nothing is looked up. */
    private static boolean isIpv6(String v) {
        int gap = v.indexOf("::");
        if (gap != v.lastIndexOf("::") || v.contains(":::")) {
            return false;
        }
        String head = gap < 0 ? v : v.substring(0, gap);
        String tail = gap < 0 ? "" : v.substring(gap + 2);
        int groups = 0;
        for (String part : (head + (tail.isEmpty() ? "" : ":" + tail)).split(":", -1)) {
            if (part.isEmpty() && gap >= 0 && (head.isEmpty() || tail.isEmpty())) {
                continue; // "::1", "fe80::"
            }
            if (part.contains(".") && v.endsWith(part) && IPV4.matcher(part).matches()) {
                groups += 2;
            } else if (HEX_GROUP.matcher(part).matches()) {
                groups++;
            } else {
                return false;
            }
        }
        return gap < 0 ? groups == 8 : groups < 8;
    }
}
