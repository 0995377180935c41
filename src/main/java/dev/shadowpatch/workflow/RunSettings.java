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

    /** Shutdown + merge + boot: what the users will see, predicted from the plan. */
    public Duration predictDowntime(long bytesToCopy, int operations) {
        long mergeMillis = bytesToCopy * 1000 / mergeBytesPerSecond + operations; // ~1 ms per path op
        return shutdownGrace.dividedBy(6).plus(expectedBoot).plusMillis(mergeMillis);
    }

    private static Duration or(Duration value, Duration fallback) {
        return value == null ? fallback : value;
    }
}
