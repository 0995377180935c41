package dev.shadowpatch.guest;

/**
 * Where a guest's sshd answers. A shadow VM on an isolated network may be reached through a
 * jump host ({@code jumpHost} null when it is reached directly).
 */
public record GuestTarget(String host, int port, String user, String jumpHost) {
    public static GuestTarget direct(String host, String user) {
        return new GuestTarget(host, 22, user, null);
    }
}
