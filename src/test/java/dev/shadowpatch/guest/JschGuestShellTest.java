package dev.shadowpatch.guest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shadowpatch.virt.HostCommand;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SSH failure modes that need no guest: refused, slow, no pinned host keys, no key. Loopback only. */
class JschGuestShellTest {
    @TempDir
    Path tmp;
    GuestProperties props;
    JschGuestShell shell;

    @BeforeEach
    void setUp() throws Exception {
        props = new GuestProperties();
        props.setPrivateKey(tmp.resolve("id_ed25519"));
        HostCommand.run(Duration.ofSeconds(30), "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", props.getPrivateKey().toString())
                .orThrow("ssh-keygen");
        props.setKnownHosts(tmp.resolve("known_hosts"));
        Files.writeString(props.getKnownHosts(), "");
        props.setConnectTimeout(Duration.ofSeconds(2));
        shell = new JschGuestShell(props);
    }

    @Test
    void refusedSaysWhereAndWhy() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort(); // closed again: nothing listens there
        }
        GuestTarget t = new GuestTarget("127.0.0.1", port, "root", null);
        assertThatThrownBy(() -> shell.run(t, "true", Duration.ofSeconds(5)))
                .isInstanceOf(GuestException.class)
                .hasMessageContaining("root@127.0.0.1:" + port)
                .hasMessageContaining("connection refused");
    }

    @Test
    void slowServerTimesOutWithinTheConnectDeadline() throws Exception {
        List<Socket> accepted = new ArrayList<>();
        try (ServerSocket s = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        accepted.add(s.accept()); // accepts, never says a word
                    }
                } catch (Exception ignored) {
                    // closed
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            GuestTarget t = new GuestTarget("127.0.0.1", s.getLocalPort(), "root", null);
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> shell.run(t, "true", Duration.ofSeconds(5)))
                    .isInstanceOf(GuestException.class)
                    .hasMessageContaining("root@127.0.0.1:" + s.getLocalPort())
                    .hasMessageContaining("no SSH answer within 2 s");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
        } finally {
            for (Socket a : accepted) {
                a.close();
            }
        }
    }

    @Test
    void missingPinnedKnownHostsIsRefusedBeforeConnecting() throws Exception {
        Files.delete(props.getKnownHosts());
        assertThatThrownBy(() -> shell.run(GuestTarget.direct("127.0.0.1", "root"), "true", Duration.ofSeconds(5)))
                .isInstanceOf(GuestException.class)
                .hasMessageContaining("known_hosts")
                .hasMessageContaining("refusing to connect to an unverified host");
    }

    @Test
    void missingKeyIsNamed() throws Exception {
        Files.delete(props.getPrivateKey());
        assertThatThrownBy(() -> shell.run(GuestTarget.direct("127.0.0.1", "root"), "true", Duration.ofSeconds(5)))
                .isInstanceOf(GuestException.class)
                .hasMessageContaining(props.getPrivateKey().toString());
    }

    @Test
    void changeLogParsesAgentLines() {
        ChangeLog log = ChangeLog.parse("""
                1764216000 CREATE /etc/sp-patched
                1764216000 CLOSE_WRITE,CLOSE /etc/sp-patched
                1764216001 MODIFY /usr/sbin/nginx
                garbage
                1764216002 DELETE /usr/share/old file
                """);
        assertThat(log.paths()).containsExactly("/etc/sp-patched", "/usr/sbin/nginx", "/usr/share/old file");
        assertThat(log.malformed()).containsExactly("line 4: expected '[EPOCH] EVENTS /path' or '/path'");
    }

    @Test
    void guestAgentFilesAreOnTheClasspath() {
        assertThat(new String(ChangeCapture.resource("sp-change-capture"))).contains("inotifywait");
        assertThat(new String(ChangeCapture.resource("exclude.list"))).contains("/var/log");
        assertThat(new String(ChangeCapture.resource("sp-change-capture.service"))).contains("ExecStart=/usr/local/sbin/sp-change-capture");
    }

    @Test
    void shellQuotingSurvivesQuotes() {
        assertThat(JschGuestShell.shellQuote("echo 'a' \"b\"")).isEqualTo("'echo '\\''a'\\'' \"b\"'");
    }
}
