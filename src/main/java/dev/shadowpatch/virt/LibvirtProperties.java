package dev.shadowpatch.virt;

import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/** {@code shadowpatch.libvirt.*}: where libvirt is and where our overlays and chain records live. */
@ConfigurationProperties(prefix = "shadowpatch.libvirt")
public class LibvirtProperties {
    /** libvirt connection URI, e.g. qemu:///system or qemu+ssh://host/system. */
    private String uri = "qemu:///system";
    /** Where overlays (live delta, shadow delta, merge overlay) are created; libvirt-qemu must traverse it. */
    private Path imageDir = Path.of("/var/lib/libvirt/images/shadowpatch");
    /** Our own chain records (JSON, one per patch run). */
    private Path stateDir = Path.of("/var/lib/shadowpatch/chains");
    /** The isolated libvirt network shadows are attached to (created when missing). */
    private String shadowNetwork = "shadowpatch-isolated";
    /** Bridge device of the isolated network. */
    private String shadowBridge = "spbr0";
    /** Host address on the isolated network (a /24; DHCP hands out .10-.250). */
    private String shadowNetworkAddress = "192.168.150.1";
    /** Deadline for a graceful shutdown before the VM is forced off. */
    private Duration shutdownGrace = Duration.ofSeconds(60);
    /** Deadline for a domain to reach a state after start/destroy. */
    private Duration stateTimeout = Duration.ofSeconds(30);
    /** Deadline for qemu-img and virsh calls (blockpull can take long on big disks). */
    private Duration commandTimeout = Duration.ofMinutes(30);
    /** Where swtpm keeps per-domain TPM state (copied from the live VM to its shadow). */
    private Path swtpmStateDir = Path.of("/var/lib/libvirt/swtpm");
    /** Try QUIESCE (guest agent fsfreeze) for the snapshot when the agent answers. */
    private boolean quiesce = true;

    /**
     * The same settings for another host: only the URI differs (remote hosts via qemu+ssh://...).
     * A new field must be copied here too (LibvirtPropertiesTest fails until it is).
     */
    public LibvirtProperties withUri(String otherUri) {
        LibvirtProperties copy = new LibvirtProperties();
        copy.uri = otherUri;
        copy.imageDir = imageDir;
        copy.stateDir = stateDir;
        copy.shadowNetwork = shadowNetwork;
        copy.shadowBridge = shadowBridge;
        copy.shadowNetworkAddress = shadowNetworkAddress;
        copy.shutdownGrace = shutdownGrace;
        copy.stateTimeout = stateTimeout;
        copy.commandTimeout = commandTimeout;
        copy.swtpmStateDir = swtpmStateDir;
        copy.quiesce = quiesce;
        return copy;
    }

    public String getUri() { return uri; }
    public void setUri(String uri) { this.uri = uri; }
    public Path getImageDir() { return imageDir; }
    public void setImageDir(Path imageDir) { this.imageDir = imageDir; }
    public Path getStateDir() { return stateDir; }
    public void setStateDir(Path stateDir) { this.stateDir = stateDir; }
    public String getShadowNetwork() { return shadowNetwork; }
    public void setShadowNetwork(String shadowNetwork) { this.shadowNetwork = shadowNetwork; }
    public String getShadowBridge() { return shadowBridge; }
    public void setShadowBridge(String shadowBridge) { this.shadowBridge = shadowBridge; }
    public String getShadowNetworkAddress() { return shadowNetworkAddress; }
    public void setShadowNetworkAddress(String a) { this.shadowNetworkAddress = a; }
    public Duration getShutdownGrace() { return shutdownGrace; }
    public void setShutdownGrace(Duration shutdownGrace) { this.shutdownGrace = shutdownGrace; }
    public Duration getStateTimeout() { return stateTimeout; }
    public void setStateTimeout(Duration stateTimeout) { this.stateTimeout = stateTimeout; }
    public Duration getCommandTimeout() { return commandTimeout; }
    public void setCommandTimeout(Duration commandTimeout) { this.commandTimeout = commandTimeout; }
    public Path getSwtpmStateDir() { return swtpmStateDir; }
    public void setSwtpmStateDir(Path swtpmStateDir) { this.swtpmStateDir = swtpmStateDir; }
    public boolean isQuiesce() { return quiesce; }
    public void setQuiesce(boolean quiesce) { this.quiesce = quiesce; }
}
