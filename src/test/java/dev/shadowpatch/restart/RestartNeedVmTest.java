package dev.shadowpatch.restart;

import dev.shadowpatch.guest.GuestTarget;
import dev.shadowpatch.guest.JschGuestShell;
import dev.shadowpatch.lab.LabVm;
import dev.shadowpatch.virt.HostCommand;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The restart class on a real guest with real Debian updates (issue 16, part 2): the lab VM's code is
 * captured, one pending update from the patch bundle is installed with dpkg, the captured files are
 * stat'ed again. A data package (tzdata) needs nothing, nginx needs its service, liblzma5 (mapped by
 * PID 1 through systemd's shared library) needs a reboot.
 */
@Tag("vm")
@Timeout(value = 20, unit = java.util.concurrent.TimeUnit.MINUTES)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RestartNeedVmTest {
    static final String VM = "sp-restart-need";
    static final Duration CMD = Duration.ofMinutes(5);

    LabVm lab;
    GuestTarget guest;
    JschGuestShell shell;
    ShadowRunningCode running;
    Path bundle;

    @BeforeAll
    void labVmAndItsPendingUpdates() throws IOException {
        lab = LabVm.fresh(VM);
        guest = lab.target();
        shell = new JschGuestShell(lab.guestProperties());
        running = new ShadowRunningCode(shell);
        Path status = Files.createTempFile("sp-restart-status", "");
        Files.writeString(status, shell.check(guest, "cat /var/lib/dpkg/status", CMD).stdout());
        bundle = Files.createTempDirectory("sp-restart-bundle");
        HostCommand.Result built = HostCommand.run(Duration.ofMinutes(10), Path.of("ops/patch-bundle").toAbsolutePath().toString(),
                "--status", status.toString(), "--out", bundle.toString(), "--exclude", "^linux-image");
        Files.delete(status);
        assertThat(built.ok()).as("ops/patch-bundle: " + built.stderr()).isTrue();
    }

    @AfterAll
    void removeVm() throws IOException {
        LabVm.delete(VM);
        if (bundle != null) {
            try (Stream<Path> files = Files.list(bundle)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(bundle);
        }
    }

    /** Captures what runs, installs the packages' .debs from the bundle with dpkg, classifies. */
    RestartNeed install(String... packages) throws IOException {
        RunningCode before = running.capture(guest);
        List<String> remote = new ArrayList<>();
        for (String p : packages) {
            Path deb;
            try (Stream<Path> files = Files.list(bundle)) {
                deb = files.filter(f -> f.getFileName().toString().startsWith(p + "_")).findFirst()
                        .orElseThrow(() -> new AssertionError(p + " is not among the lab image's pending updates"));
            }
            shell.upload(guest, deb, "/root/" + deb.getFileName());
            remote.add("/root/" + deb.getFileName());
        }
        shell.check(guest, "DEBIAN_FRONTEND=noninteractive dpkg --force-confold -i " + String.join(" ", remote) + " && rm -f "
                + String.join(" ", remote), CMD);
        return RestartClassifier.classify(before, running.restat(guest, before.livePaths()), List.of(packages));
    }

    @Test
    @Order(1)
    void aDataPackageNeedsNoRestart() throws IOException {
        RestartNeed need = install("tzdata");
        assertThat(need.restartClass()).as(need.summary()).isEqualTo(RestartClass.NONE);
        assertThat(need.units()).isEmpty();
    }

    @Test
    @Order(2)
    void nginxNeedsOnlyItsOwnServiceAndItsRestartIsTimed() throws IOException {
        RestartNeed need = install("nginx-common", "nginx");
        assertThat(need.restartClass()).as(need.summary()).isEqualTo(RestartClass.SERVICES);
        assertThat(need.units()).containsExactly("nginx.service");
        assertThat(need.reasons().get(0)).startsWith("nginx.service maps /usr/sbin/nginx");
        OptionalDouble took = running.timeRestart(guest, need.units());
        assertThat(took).isPresent();
        assertThat(took.getAsDouble()).isPositive().isLessThan(120);
        assertThat(shell.run(guest, "systemctl is-active nginx", CMD).stdout().strip()).isEqualTo("active");
    }

    @Test
    @Order(3)
    void aLibraryPid1MapsNeedsAReboot() throws IOException {
        RestartNeed need = install("liblzma5");
        assertThat(need.restartClass()).as(need.summary()).isEqualTo(RestartClass.SYSTEM);
        assertThat(need.reasons().get(0)).startsWith("PID 1 maps /usr/lib/x86_64-linux-gnu/liblzma.so.5");
    }
}
