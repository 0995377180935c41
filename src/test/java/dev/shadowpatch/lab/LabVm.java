package dev.shadowpatch.lab;

import dev.shadowpatch.guest.GuestException;
import dev.shadowpatch.guest.GuestProperties;
import dev.shadowpatch.guest.GuestTarget;
import dev.shadowpatch.guest.JschGuestShell;
import dev.shadowpatch.virt.HostCommand;
import dev.shadowpatch.virt.LibvirtHypervisor;
import dev.shadowpatch.virt.LibvirtProperties;
import dev.shadowpatch.virt.ShadowClone;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A real lab VM made by {@code ops/lab-vm} (which builds the cached Debian 12 image once per
 * machine). Tests assume {@code ops/host-setup} ran; they install and start nothing else by hand.
 */
public record LabVm(String name, String address, Path sshKey, Path knownHosts) {

    public static Path script() {
        Path p = Path.of("ops/lab-vm").toAbsolutePath();
        if (!Files.isExecutable(p)) {
            throw new IllegalStateException(p + " missing: run the tests from the project directory");
        }
        return p;
    }

    /**
     * A fresh VM (recreated from the cached image), booted, answering SSH; {@code options} such as
     * {@code --layout lvm} or {@code --uefi --tpm}. Without a layout the direct-kernel one: these
     * tests look at one root file system ({@code DiskExposer.expose}); layouts have their own tests.
     */
    public static LabVm fresh(String name, String... options) {
        List<String> argv = new ArrayList<>(List.of(script().toString(), "--name", name, "--recreate"));
        argv.addAll(withLayout(options));
        HostCommand.Result r = HostCommand.run(Duration.ofMinutes(30), argv);
        if (!r.ok()) {
            throw new IllegalStateException("ops/lab-vm --name " + name + " failed (exit " + r.exitCode() + "):\n" + r.stderr());
        }
        Map<String, String> kv = new HashMap<>();
        r.stdout().lines().filter(l -> l.contains("=")).forEach(l -> kv.put(l.substring(0, l.indexOf('=')), l.substring(l.indexOf('=') + 1)));
        return new LabVm(kv.get("name"), kv.get("address"), Path.of(kv.get("ssh_key")), Path.of(kv.get("known_hosts")));
    }

    /** The options with {@code --layout direct} added unless they name a layout ({@code --uefi} is one). */
    public static List<String> withLayout(String... options) {
        List<String> all = new ArrayList<>(List.of(options));
        if (!all.contains("--layout") && !all.contains("--uefi")) {
            all.addAll(List.of("--layout", "direct"));
        }
        return all;
    }

    public static void delete(String name) {
        HostCommand.run(Duration.ofMinutes(2), script().toString(), "--delete", name);
    }

    public GuestTarget target() {
        return GuestTarget.direct(address, "root").withHostKeyAlias(name);
    }

    public GuestProperties guestProperties() {
        GuestProperties p = new GuestProperties();
        p.setPrivateKey(sshKey);
        p.setKnownHosts(knownHosts);
        p.setConnectTimeout(Duration.ofSeconds(15));
        return p;
    }

    /** Local libvirt, chain records in a fresh temporary directory, deadlines sized for TCG guests. */
    public static LibvirtProperties libvirtProperties() throws java.io.IOException {
        LibvirtProperties lp = new LibvirtProperties();
        lp.setStateDir(Files.createTempDirectory("sp-chains"));
        lp.setShutdownGrace(Duration.ofSeconds(90));
        lp.setStateTimeout(Duration.ofSeconds(60));
        return lp;
    }

    /** {@code virsh -c URI ARGS...}'s output; a failing virsh fails the test (never an empty answer). */
    public static String virsh(String uri, String... args) {
        List<String> argv = new ArrayList<>(List.of("virsh", "-c", uri));
        argv.addAll(List.of(args));
        return HostCommand.run(Duration.ofSeconds(60), argv).orThrow(String.join(" ", argv)).stdout();
    }

    /** After a failed test: removes what is left of the shadow, reporting rather than masking the failure. */
    public static void cleanupAfterFailure(LibvirtHypervisor hv, ShadowClone clone) {
        if (clone == null) {
            return;
        }
        try {
            hv.cleanup(clone);
        } catch (RuntimeException e) {
            System.err.println("cleanup after failure: " + e.getMessage());
        }
    }

    /**
     * After a test class: the run's shadow (if one was made) cleaned up, open mounts torn down, the
     * hypervisor closed and the lab VM deleted, each tried even when an earlier one fails.
     */
    public static void removeAll(String vm, LibvirtHypervisor hv, ShadowClone clone, dev.shadowpatch.disk.QemuStorageDaemonExposer disks) {
        try {
            cleanupAfterFailure(hv, clone);
            if (disks != null) { // null when the lab VM never booted
                disks.closeAll();
            }
            if (hv != null) {
                hv.close();
            }
        } finally {
            delete(vm);
        }
    }

    /** Waits until the guest answers SSH (a booting VM, a shadow just started), polling each second. */
    public static void awaitSsh(JschGuestShell shell, GuestTarget target, Duration deadline) {
        long end = System.nanoTime() + deadline.toNanos();
        while (true) {
            try {
                shell.probe(target);
                return;
            } catch (GuestException e) {
                if (System.nanoTime() > end) {
                    throw e;
                }
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }
}
