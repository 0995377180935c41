package dev.shadowpatch.guest;

import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/** {@code shadowpatch.guest.*}: SSH credentials and pinned host keys (written by ops/lab-vm). */
@ConfigurationProperties(prefix = "shadowpatch.guest")
public class GuestProperties {
    /** Private key the orchestrator logs in with. */
    private Path privateKey = Path.of("/var/lib/shadowpatch/ssh/id_ed25519");
    /** Pinned host keys; an unknown or changed key is refused. */
    private Path knownHosts = Path.of("/var/lib/shadowpatch/ssh/known_hosts");
    /** Login user when a target does not say. */
    private String user = "root";
    /** TCP + SSH handshake deadline. */
    private Duration connectTimeout = Duration.ofSeconds(15);

    public Path getPrivateKey() { return privateKey; }
    public void setPrivateKey(Path privateKey) { this.privateKey = privateKey; }
    public Path getKnownHosts() { return knownHosts; }
    public void setKnownHosts(Path knownHosts) { this.knownHosts = knownHosts; }
    public String getUser() { return user; }
    public void setUser(String user) { this.user = user; }
    public Duration getConnectTimeout() { return connectTimeout; }
    public void setConnectTimeout(Duration connectTimeout) { this.connectTimeout = connectTimeout; }
}
