package dev.shadowpatch.guest;

/**
 * Where a guest's sshd answers. A shadow VM on an isolated network may be reached through a
 * jump host ({@code jumpHost} null when it is reached directly; {@code [user@]host[:port]}).
 *
 * @param hostKeyAlias the name the guest's host key is pinned under in known_hosts (null: {@code host}).
 *                     A shadow is a clone of the live VM and presents the live VM's host key at a new
 *                     address, so it is checked against the live VM's pinned entry (the VM name).
 */
public record GuestTarget(String host, int port, String user, String jumpHost, String hostKeyAlias) {

    public GuestTarget(String host, int port, String user, String jumpHost) {
        this(host, port, user, jumpHost, null);
    }

    public static GuestTarget direct(String host, String user) {
        return new GuestTarget(host, 22, user, null, null);
    }

    /** The same target with its host key checked against the entry pinned as {@code alias}. */
    public GuestTarget withHostKeyAlias(String alias) {
        return new GuestTarget(host, port, user, jumpHost, alias);
    }

    public String describe() {
        return user + "@" + host + ":" + port + (jumpHost == null ? "" : " via " + jumpHost)
                + (hostKeyAlias == null ? "" : " (host key of " + hostKeyAlias + ")");
    }
}
