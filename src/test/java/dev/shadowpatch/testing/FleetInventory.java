package dev.shadowpatch.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.util.List;

/**
 * An inventory file of a simulated fleet: {@code hosts} hosts named sim-00.., one group "fleet" on the
 * window "now", and {@code vms} VMs named vm-000.. spread round-robin over the hosts. The window's
 * calendar comes from {@link #shortWindowArgs()} or {@link #windowOpeningOnceAt(Instant)}.
 */
public final class FleetInventory {
    private FleetInventory() {}

    public static Path write(Path dir, int hosts, int vms) {
        StringBuilder yaml = new StringBuilder("hosts:\n");
        for (int h = 0; h < hosts; h++) {
            yaml.append(String.format("  - {name: sim-%02d, uri: \"test+simulated://sim-%02d/system\"}%n", h, h));
        }
        yaml.append("groups:\n  - {name: fleet, window: now}\nvms:\n");
        for (int v = 0; v < vms; v++) {
            yaml.append(String.format("  - {name: %s, host: %s, group: fleet}%n", vm(v), host(v, hosts)));
        }
        try {
            Files.createDirectories(dir);
            return Files.writeString(dir.resolve("inventory.yaml"), yaml);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String vm(int v) {
        return String.format("vm-%03d", v);
    }

    public static String host(int v, int hosts) {
        return String.format("sim-%02d", v % hosts);
    }

    /** Windows every 10 s lasting 8 s (1 s kept for a rollback); predicted downtime 1 s shutdown + 1 s boot. */
    public static List<String> shortWindowArgs() {
        return windowArgs("*/10 * * * * *", Duration.ofSeconds(8));
    }

    /**
     * The window opens at {@code opens} (today, UTC, to the second) and stays open 10 minutes: every run
     * that is ready before then waits for it, so a test can act while runs are certainly in flight.
     */
    public static List<String> windowOpeningOnceAt(Instant opens) {
        LocalTime at = opens.atZone(ZoneOffset.UTC).toLocalTime();
        return windowArgs(String.format("%d %d %d * * *", at.getSecond(), at.getMinute(), at.getHour()), Duration.ofMinutes(10));
    }

    private static List<String> windowArgs(String cycle, Duration duration) {
        return List.of("--shadowpatch.windows.now.cycle=" + cycle, "--shadowpatch.windows.now.duration=" + duration,
                "--shadowpatch.windows.now.rollback-margin=PT1S", "--shadowpatch.run.shutdown-grace=PT6S",
                "--shadowpatch.run.expected-boot=PT1S");
    }
}
