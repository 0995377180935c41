package dev.shadowpatch.lab;

import dev.shadowpatch.guest.GuestProperties;
import dev.shadowpatch.guest.GuestTarget;
import dev.shadowpatch.virt.HostCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
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

    /** A fresh VM (recreated from the cached image), booted, answering SSH. */
    public static LabVm fresh(String name) {
        HostCommand.Result r = HostCommand.run(Duration.ofMinutes(30), script().toString(), "--name", name, "--recreate");
        if (!r.ok()) {
            throw new IllegalStateException("ops/lab-vm --name " + name + " failed (exit " + r.exitCode() + "):\n" + r.stderr());
        }
        Map<String, String> kv = new HashMap<>();
        r.stdout().lines().filter(l -> l.contains("=")).forEach(l -> kv.put(l.substring(0, l.indexOf('=')), l.substring(l.indexOf('=') + 1)));
        return new LabVm(kv.get("name"), kv.get("address"), Path.of(kv.get("ssh_key")), Path.of(kv.get("known_hosts")));
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
}
