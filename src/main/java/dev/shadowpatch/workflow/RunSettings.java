package dev.shadowpatch.workflow;


import java.nio.file.Path;
import java.time.Duration;

/**
 * Settings of a patch run ({@code shadowpatch.run.*}): timeouts of the steps and the downtime
 * model used to predict whether a merge fits in a window. Long guest commands run detached and are
 * polled every {@code pollInterval} (the live VM's boot in the window every {@code bootPollInterval}); a command that ends within {@code commandSettle} of its start
 * needs no poll; the live VM must answer its verification within {@code bootTimeout} of its start.
 */
public record RunSettings(
        String guestUser,
        Duration shadowAddressTimeout,
        Duration patchTimeout,
        Duration testTimeout,
        Duration shutdownGrace,
        Duration expectedBoot,
        long mergeBytesPerSecond,
        Path bundleRoot,
        Duration pollInterval,
        Duration bootPollInterval,
        Duration commandSettle,
        Duration bootTimeout) {

    public RunSettings {
        guestUser = guestUser == null ? "root" : guestUser;
        shadowAddressTimeout = or(shadowAddressTimeout, Duration.ofMinutes(3));
        patchTimeout = or(patchTimeout, Duration.ofMinutes(30));
        testTimeout = or(testTimeout, Duration.ofMinutes(10));
        shutdownGrace = or(shutdownGrace, Duration.ofSeconds(60));
        expectedBoot = or(expectedBoot, Duration.ofSeconds(40));
        mergeBytesPerSecond = mergeBytesPerSecond <= 0 ? 50L * 1024 * 1024 : mergeBytesPerSecond;
        bundleRoot = bundleRoot == null ? Path.of("/var/lib/shadowpatch/bundles") : bundleRoot;
        pollInterval = or(pollInterval, Duration.ofSeconds(5));
        bootPollInterval = or(bootPollInterval, Duration.ofSeconds(2));
        commandSettle = or(commandSettle, Duration.ofSeconds(3));
        bootTimeout = or(bootTimeout, Duration.ofMinutes(10));
    }

    /** The poll timers' duration as BPMN reads it: {@code ${runSettings.pollIntervalIso()}}. */
    public String pollIntervalIso() {
        return pollInterval.toString();
    }

    /** In the window, while the live VM boots, every second counts as downtime: a shorter poll. */
    public String bootPollIntervalIso() {
        return bootPollInterval.toString();
    }

    /**
     * Shutdown + merge + boot from the configured model alone (no history, no measured boot): the
     * window's door never counts less than {@code predictDowntime(0, 0)}, whatever a run's variable says.
     */
    public Duration predictDowntime(long bytesToCopy, int operations) {
        return shutdownGrace.dividedBy(6).plus(expectedBoot).plusMillis(Math.round(mergeSeconds(bytesToCopy, operations) * 1000));
    }

    /** The plan's own merge estimate: its bytes at {@code merge-bytes-per-second}, plus ~1 ms per path operation. */
    public double mergeSeconds(long bytesToCopy, int operations) {
        return (double) bytesToCopy / mergeBytesPerSecond + operations / 1000.0;
    }

    private static Duration or(Duration value, Duration fallback) {
        return value == null ? fallback : value;
    }
}
