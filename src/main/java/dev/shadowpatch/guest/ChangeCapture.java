package dev.shadowpatch.guest;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Installs, starts, stops and reads the in-guest change capture agent (ops/guest-agent: an
 * inotifywait wrapper, its systemd unit and the exclude list, packaged on the classpath under
 * {@code guest-agent/}). Start it before the patch, fetch its log afterwards.
 */
public class ChangeCapture {
    static final String SCRIPT = "/usr/local/sbin/sp-change-capture";
    static final String UNIT = "/etc/systemd/system/sp-change-capture.service";
    static final String EXCLUDES = "/etc/sp-change-capture/exclude.list";
    /** Where the agent writes its log in the guest (the merge reads it from the mounted shadow: {@code MergeEngine.GUEST_CHANGE_LOG}). */
    static final String LOG = "/" + dev.shadowpatch.merge.MergeEngine.GUEST_CHANGE_LOG;
    private static final Duration SHORT = Duration.ofSeconds(30);

    private final JschGuestShell shell;

    public ChangeCapture(JschGuestShell shell) {
        this.shell = shell;
    }

    /** Copies the agent into the guest (idempotent). Fails when the guest lacks inotify-tools. */
    public void install(GuestTarget target) {
        CommandResult probe = shell.run(target, "command -v inotifywait && command -v systemctl", SHORT);
        if (!probe.succeeded()) {
            throw new GuestException("change capture cannot run on " + target.describe()
                    + ": inotifywait (package inotify-tools) or systemd missing in the guest");
        }
        shell.check(target, "mkdir -p /etc/sp-change-capture /usr/local/sbin", SHORT);
        shell.upload(target, resource("sp-change-capture"), SCRIPT);
        shell.upload(target, resource("sp-change-capture.service"), UNIT);
        shell.upload(target, resource("exclude.list"), EXCLUDES);
        shell.check(target, "chmod 0755 " + SCRIPT + " && chmod 0644 " + UNIT + " " + EXCLUDES
                + " && systemctl daemon-reload", SHORT);
    }

    /** (Re)starts capturing with an empty log; returns once the watches are established. */
    public void start(GuestTarget target, Duration timeout) {
        long secs = Math.max(1, timeout.toSeconds());
        shell.check(target, "systemctl restart sp-change-capture && i=0; while [ ! -e /var/lib/sp-change-capture/ready ]; do"
                + " systemctl -q is-active sp-change-capture || { journalctl -u sp-change-capture -n 20 --no-pager >&2; exit 1; };"
                + " i=$((i+1)); [ $i -gt " + (secs * 5) + " ] && exit 2; sleep 0.2; done", timeout.plusSeconds(10));
    }

    /** Stops capturing (the log stays). */
    public void stop(GuestTarget target) {
        shell.check(target, "systemctl stop sp-change-capture", SHORT);
    }

    /** The log so far (capture may still run). */
    public ChangeLog fetch(GuestTarget target) {
        try {
            Path tmp = Files.createTempFile("sp-change-log", ".txt");
            try {
                shell.download(target, LOG, tmp);
                return ChangeLog.parse(Files.readAllBytes(tmp));
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] resource(String name) {
        try (InputStream in = ChangeCapture.class.getResourceAsStream("/guest-agent/" + name)) {
            if (in == null) {
                throw new GuestException("guest agent file guest-agent/" + name + " is not on the classpath (ops/guest-agent)");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
