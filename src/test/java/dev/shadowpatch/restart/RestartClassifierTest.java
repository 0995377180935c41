package dev.shadowpatch.restart;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The case table of {@link RestartClassifier}: what ran, what the patch changed, the class and units it gives. */
class RestartClassifierTest {
    static final String LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";
    static final String LIBSSL = "/usr/lib/x86_64-linux-gnu/libssl.so.3";
    static final String NGINX = "/usr/sbin/nginx";
    static final String NAMED = "/usr/sbin/named";
    static final String SYSTEMD = "/usr/lib/systemd/systemd";
    static final String DBUS = "/usr/bin/dbus-daemon";
    static final String BASH = "/usr/bin/bash";

    /** What the lab VM runs: PID 1, the bus, nginx and named (both on libc, nginx on libssl), an SSH session. */
    static RunningCode running() {
        return RunningCode.parse(String.join("\n",
                "U\tinit.scope\t" + SYSTEMD, "U\tinit.scope\t" + LIBC,
                "U\tdbus.service\t" + DBUS, "U\tdbus.service\t" + LIBC,
                "U\tnginx.service\t" + NGINX, "U\tnginx.service\t" + LIBC, "U\tnginx.service\t" + LIBSSL,
                "U\tnamed.service\t" + NAMED, "U\tnamed.service\t" + LIBC,
                "U\tsession-3.scope\t" + BASH, "U\tsession-3.scope\t" + LIBC,
                "F\t" + SYSTEMD + "\t1\t10\t100\t1000", "F\t" + LIBC + "\t1\t11\t100\t2000", "F\t" + DBUS + "\t1\t12\t100\t300",
                "F\t" + NGINX + "\t1\t13\t100\t400", "F\t" + LIBSSL + "\t1\t14\t100\t500", "F\t" + NAMED + "\t1\t15\t100\t600",
                "F\t" + BASH + "\t1\t16\t100\t700"));
    }

    /** The files after a patch that replaced the given paths (a new inode each; a path given as "-path" is gone). */
    static Map<String, FileState> after(String... replaced) {
        Map<String, FileState> now = new HashMap<>(running().files());
        for (String p : replaced) {
            if (p.startsWith("-")) {
                now.remove(p.substring(1));
            } else {
                FileState s = now.get(p);
                now.put(p, new FileState(s.dev(), s.inode() + 1000, s.mtime() + 1, s.size()));
            }
        }
        return now;
    }

    static Stream<Arguments> cases() {
        return Stream.of(
                // what changed (files), packages changed, class, units
                Arguments.of("documentation only", after(), List.of("nginx-doc"), RestartClass.NONE, List.of()),
                Arguments.of("nginx's binary", after(NGINX), List.of("nginx-core"), RestartClass.SERVICES, List.of("nginx.service")),
                Arguments.of("libssl: its users only", after(LIBSSL), List.of("libssl3"), RestartClass.SERVICES, List.of("nginx.service")),
                Arguments.of("a library removed", after("-" + LIBSSL), List.of("libssl3"), RestartClass.SERVICES, List.of("nginx.service")),
                Arguments.of("two services", after(NGINX, NAMED), List.of("nginx-core", "bind9"), RestartClass.SERVICES,
                        List.of("named.service", "nginx.service")),
                Arguments.of("libc: PID 1 maps it", after(LIBC), List.of("libc6"), RestartClass.SYSTEM,
                        List.of("named.service", "nginx.service")),
                Arguments.of("systemd itself", after(SYSTEMD), List.of("systemd"), RestartClass.SYSTEM, List.of()),
                Arguments.of("the system bus", after(DBUS), List.of("dbus-daemon"), RestartClass.SYSTEM, List.of()),
                Arguments.of("a new kernel, nothing running changed", after(), List.of("linux-image-6.1.0-57-amd64", "linux-image-amd64"),
                        RestartClass.SYSTEM, List.of()),
                Arguments.of("only a session's shell", after(BASH), List.of("bash"), RestartClass.NONE, List.of()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void classifies(String name, Map<String, FileState> now, List<String> packages, RestartClass expected, List<String> units) {
        RestartNeed need = RestartClassifier.classify(running(), now, packages);
        assertThat(need.restartClass()).isEqualTo(expected);
        assertThat(need.units()).isEqualTo(units);
        assertThat(need.reasons().isEmpty()).isEqualTo(expected == RestartClass.NONE);
    }

    @Test
    void theReasonsNameWhatRanAndWhatChanged() {
        RestartNeed need = RestartClassifier.classify(running(), after(LIBC), List.of("libc6"));
        assertThat(need.reasons()).contains("PID 1 maps " + LIBC, "the system bus (dbus.service) maps " + LIBC);
        assertThat(need.sessions()).containsExactly("session-3.scope");
        assertThat(need.summary()).startsWith("system: a reboot (PID 1 maps " + LIBC);
    }

    @Test
    void aKernelIsNamed() {
        RestartNeed need = RestartClassifier.classify(running(), after(), List.of("linux-image-amd64", "linux-image-6.1.0-57-amd64"));
        assertThat(need.reasons()).containsExactly("a new kernel (linux-image-6.1.0-57-amd64)");
    }

    @Test
    void aFileReplacedBeforeThePatchStillNeedsItsRestart() {
        RunningCode stale = RunningCode.parse("U\tinit.scope\t" + SYSTEMD + "\nU\tsshd.service\t/usr/sbin/sshd (deleted)\nF\t" + SYSTEMD + "\t1\t10\t100\t1000\n");
        RestartNeed need = RestartClassifier.classify(stale, stale.files(), List.of());
        assertThat(need.restartClass()).isEqualTo(RestartClass.SERVICES);
        assertThat(need.units()).containsExactly("sshd.service");
        assertThat(need.reasons().get(0)).contains("/usr/sbin/sshd (replaced before the patch)");
    }

    @Test
    void aMappedFileThatCouldNotBeReadBeforeIsNeverJudged() {
        // a service's private /tmp: not stat-able from the root namespace, before or after
        RunningCode code = RunningCode.parse("U\tinit.scope\t" + SYSTEMD + "\nU\tapp.service\t/tmp/private.so\nF\t" + SYSTEMD + "\t1\t10\t100\t1000\n");
        assertThat(RestartClassifier.classify(code, code.files(), List.of()).restartClass()).isEqualTo(RestartClass.NONE);
    }

    @Test
    void theJsonCarriesTheClassWordUnitsAndMeasure() {
        RestartNeed need = RestartClassifier.classify(running(), after(NGINX), List.of("nginx-core")).withMeasure(1.25, "systemctl restart of 1 unit(s)");
        assertThat(need.toJson()).contains("\"restartClass\":\"services\"", "\"units\":[\"nginx.service\"]", "\"measuredSeconds\":1.25");
        assertThat(need.summary()).isEqualTo("services: restart nginx.service (nginx.service maps /usr/sbin/nginx); 1.3 s in the shadow (systemctl restart of 1 unit(s))");
    }

    /** The online merge reads the live VM itself: what it writes counts as changed, whoever maps it there. */
    @Test
    void aMergeIntoTheRunningVmRestartsWhoeverMapsWhatItWrites() {
        assertThat(RestartClassifier.classifyWrites(running(), java.util.Set.of(NGINX)).units()).containsExactly("nginx.service");
        assertThat(RestartClassifier.classifyWrites(running(), java.util.Set.of("/usr/share/doc/nginx/README")).restartClass())
                .isEqualTo(RestartClass.NONE);
        RestartNeed libc = RestartClassifier.classifyWrites(running(), java.util.Set.of(LIBC));
        assertThat(libc.restartClass()).isEqualTo(RestartClass.SYSTEM);
        assertThat(libc.reasons().get(0)).isEqualTo("PID 1 maps " + LIBC);
        // code replaced long before the patch (PID 1, a service): the VM's own debt, not this merge's reason
        RunningCode stale = RunningCode.parse("U\tinit.scope\t" + SYSTEMD + "\nU\tinit.scope\t/usr/lib/x86_64-linux-gnu/libz.so.1 (deleted)\n"
                + "U\tcron.service\t/usr/sbin/cron (deleted)\n"
                + "U\tnginx.service\t" + NGINX + "\nF\t" + SYSTEMD + "\t1\t10\t100\t1000\nF\t" + NGINX + "\t1\t13\t100\t400\n");
        RestartNeed online = RestartClassifier.classifyWrites(stale, java.util.Set.of(NGINX));
        assertThat(online.restartClass()).isEqualTo(RestartClass.SERVICES);
        assertThat(online.units()).containsExactly("nginx.service");
    }
}
