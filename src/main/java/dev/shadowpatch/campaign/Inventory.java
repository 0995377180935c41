package dev.shadowpatch.campaign;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shadowpatch.virt.AddressChoice;
import dev.shadowpatch.virt.HostDirectory;
import dev.shadowpatch.workflow.WindowCalendars;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The fleet: hypervisor hosts (libvirt URIs), VM groups with their named maintenance window, and VMs
 * (each on a host, in a group). Loaded from {@code shadowpatch.inventory-file} (YAML or JSON) and
 * checked as a whole at start-up, so a typo fails the start with the entry to fix, not a campaign.
 */
public final class Inventory implements HostDirectory {
    public record Host(String name, String uri) {}

    public record Group(String name, String window) {}

    /**
     * One VM; {@code address} is optional: where it answers when neither its guest agent nor a DHCP
     * lease tells (a bridged or static VM without agent), an IP address or host name.
     */
    public record Vm(String name, String host, String group, String address) {
        public Vm(String name, String host, String group) {
            this(name, host, group, null);
        }
    }

    /** The file's shape. */
    record File(List<Host> hosts, List<Group> groups, List<Vm> vms) {}

    private final Map<String, Host> hosts = new LinkedHashMap<>();
    private final Map<String, Group> groups = new LinkedHashMap<>();
    private final Map<String, Vm> vms = new LinkedHashMap<>();
    private final String source;

    private Inventory(String source) {
        this.source = source;
    }

    public static Inventory empty() {
        return new Inventory("(no inventory: shadowpatch.inventory-file is not set)");
    }

    public static Inventory load(Path file, WindowCalendars windows) {
        Object tree;
        try (Reader in = Files.newBufferedReader(file)) {
            tree = new Yaml(new SafeConstructor(new LoaderOptions())).load(in);
        } catch (IOException e) {
            throw new IllegalStateException("Cannot read the inventory " + file + " (shadowpatch.inventory-file): " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new IllegalStateException("Inventory " + file + " is not valid YAML/JSON: " + e.getMessage(), e);
        }
        File parsed;
        try {
            parsed = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true)
                    .convertValue(tree == null ? Map.of() : tree, File.class);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("Inventory " + file + " does not have the shape {hosts: [{name, uri}], "
                    + "groups: [{name, window}], vms: [{name, host, group, address?}]}: " + e.getMessage(), e);
        }
        return of(file.toString(), parsed, windows);
    }

    static Inventory of(String source, File file, WindowCalendars windows) {
        Inventory inventory = new Inventory(source);
        List<String> errors = new ArrayList<>();
        List<Host> hostList = file.hosts() == null ? List.of() : file.hosts();
        for (int i = 0; i < hostList.size(); i++) {
            Host h = hostList.get(i);
            String at = "hosts[" + i + "]";
            if (blank(h.name()) || blank(h.uri())) {
                errors.add(at + ": give both name and uri (a libvirt URI, e.g. qemu+ssh://root@kvm-a/system)");
            } else if (inventory.hosts.putIfAbsent(h.name(), h) != null) {
                errors.add(at + " '" + h.name() + "' is listed twice; remove one");
            }
        }
        List<Group> groupList = file.groups() == null ? List.of() : file.groups();
        for (int i = 0; i < groupList.size(); i++) {
            Group g = groupList.get(i);
            String at = "groups[" + i + "]";
            if (blank(g.name())) {
                errors.add(at + ": give the group a name");
                continue;
            }
            Group withWindow = new Group(g.name(), blank(g.window()) ? WindowCalendars.DEFAULT : g.window());
            if (!windows.exists(withWindow.window())) {
                errors.add(at + " '" + g.name() + "': unknown window '" + g.window() + "'; configure shadowpatch.windows."
                        + g.window() + ".cycle/duration or use one of " + windows.names());
            } else if (inventory.groups.putIfAbsent(g.name(), withWindow) != null) {
                errors.add(at + " '" + g.name() + "' is listed twice; remove one");
            }
        }
        List<Vm> vmList = file.vms() == null ? List.of() : file.vms();
        for (int i = 0; i < vmList.size(); i++) {
            Vm vm = vmList.get(i);
            String at = "vms[" + i + "]" + (blank(vm.name()) ? "" : " '" + vm.name() + "'");
            if (blank(vm.name()) || blank(vm.host()) || blank(vm.group())) {
                errors.add(at + ": give name, host and group");
            } else if (!inventory.hosts.containsKey(vm.host())) {
                errors.add(at + ": unknown host '" + vm.host() + "'; add it under hosts or use one of " + inventory.hosts.keySet());
            } else if (!inventory.groups.containsKey(vm.group())) {
                errors.add(at + ": unknown group '" + vm.group() + "'; add it under groups or use one of " + inventory.groups.keySet());
            } else if (vm.address() != null && AddressChoice.problemWith(vm.address()).isPresent()) {
                errors.add(at + ": address " + AddressChoice.problemWith(vm.address()).get() + " (give an IP address or host name, or leave it out)");
            } else if (inventory.vms.putIfAbsent(vm.name(), vm) != null) {
                errors.add(at + " is listed twice (VM names are libvirt domain names and must be unique); remove one");
            }
        }
        if (!errors.isEmpty()) {
            throw new IllegalStateException("Inventory " + source + " has " + errors.size() + " problem(s):\n  "
                    + String.join("\n  ", errors));
        }
        return inventory;
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    public Optional<Vm> vm(String name) {
        return Optional.ofNullable(vms.get(name));
    }

    public Optional<Group> group(String name) {
        return Optional.ofNullable(groups.get(name));
    }

    public Optional<Host> host(String name) {
        return Optional.ofNullable(hosts.get(name));
    }

    @Override
    public Optional<String> uriOf(String hostName) {
        return host(hostName).map(Host::uri);
    }

    /** The VMs of a group in inventory order. */
    public List<Vm> vmsIn(String group) {
        return vms.values().stream().filter(vm -> vm.group().equals(group)).toList();
    }

    public String windowOf(Vm vm) {
        return groups.get(vm.group()).window();
    }

    public String source() {
        return source;
    }
}
