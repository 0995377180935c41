package dev.shadowpatch.guest;

import dev.shadowpatch.merge.MergeEngine;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Installs, starts, stops and reads the in-guest change capture agent (ops/guest-agent: an
 * inotifywait wrapper, its systemd unit and the exclude list, packaged on the classpath under
 * {@code guest-agent/}). The process starts it in the shadow before the patch ({@link #begin}) and
 * stops it before the shadow shuts down ({@link #stop}); the merge reads the log it leaves in the
 * shadow's tree. The log is a hint: the merge's scan decides what changed either way.
 */
public class ChangeCapture {
    static final String SCRIPT = "/usr/local/sbin/sp-change-capture";
    static final String UNIT = "/etc/systemd/system/sp-change-capture.service";
    static final String EXCLUDES = "/etc/sp-change-capture/exclude.list";
    static final String STATE = "/var/lib/sp-change-capture";
    /** Where the agent writes its log in the guest (the merge reads it from the mounted shadow: {@link MergeEngine#GUEST_CHANGE_LOG}). */
    static final String LOG = "/" + MergeEngine.GUEST_CHANGE_LOG;
    /** Exit bits of {@link #PROBE}: what the guest lacks. */
    static final int NO_INOTIFYWAIT = 1, NO_SYSTEMD = 2;
    /** The guest commands, as a test double sees them. */
    public static final String PROBE = "r=0; command -v inotifywait >/dev/null 2>&1 || r=$((r|" + NO_INOTIFYWAIT + "));"
            + " { command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; } || r=$((r|" + NO_SYSTEMD + ")); exit $r";
    public static final String CAPTURING = "systemctl -q is-active sp-change-capture && [ -e " + STATE + "/ready ]";
    public static final String STOP = "systemctl stop sp-change-capture && sync " + LOG;
    private static final Duration SHORT = Duration.ofSeconds(30);

    private final GuestShell shell;

    /** Where a run's capture is, as its process records it. */
    public enum State {
        /** the agent runs in the shadow and logs every change */
        CAPTURING("capturing"),
        /** stopped before the shadow shut down: the log is complete up to then */
        STOPPED("stopped"),
        /** the guest cannot capture (reason recorded beside it): the merge's scan alone finds the changes */
        SKIPPED("skipped"),
        /** it could not be stopped before the shadow shut down: the log is as the shutdown left it */
        NOT_STOPPED("not stopped");

        private final String word;

        State(String word) { this.word = word; }

        public String word() { return word; }

        public static State parse(String w) {
            for (State s : values()) if (s.word.equals(w) || s.name().equals(w)) return s;
            throw new IllegalArgumentException("unknown change capture state '" + w + "'");
        }

        @Override
        public String toString() { return word; }
    }

    public ChangeCapture(GuestShell shell) {
        this.shell = shell;
    }

    /**
     * Makes the guest capture its changes: installs the agent and starts it with an empty log, unless
     * it captures already (then nothing changes and its log is kept: a retried or taken-over step
     * calls this again). Returns once the watches are established.
     *
     * @return empty when the guest captures; otherwise why it cannot (the reason is ours, never guest output)
     * @throws GuestException when the guest cannot be reached (the step is retried)
     */
    public Optional<String> begin(GuestTarget target, Duration timeout) {
        CommandResult probe = shell.run(target, PROBE, SHORT);
        if (!probe.succeeded()) {
            int missing = probe.exitCode();
            if ((missing & ~(NO_INOTIFYWAIT | NO_SYSTEMD)) != 0 || missing < 0) {
                return Optional.of("the guest's capability probe failed (exit " + missing + ")");
            }
            String what = ((missing & NO_INOTIFYWAIT) != 0 ? "inotifywait (package inotify-tools)" : "")
                    + ((missing & NO_INOTIFYWAIT) != 0 && (missing & NO_SYSTEMD) != 0 ? " and " : "")
                    + ((missing & NO_SYSTEMD) != 0 ? "a running systemd" : "");
            return Optional.of("the guest lacks " + what);
        }
        if (shell.run(target, CAPTURING, SHORT).succeeded()) {
            return Optional.empty();
        }
        CommandResult made = shell.run(target, "mkdir -p /etc/sp-change-capture /usr/local/sbin", SHORT);
        if (!made.succeeded()) {
            return Optional.of("the agent's directories could not be made (exit " + made.exitCode() + ")");
        }
        shell.upload(target, resource("sp-change-capture"), SCRIPT);
        shell.upload(target, resource("sp-change-capture.service"), UNIT);
        shell.upload(target, resource("exclude.list"), EXCLUDES);
        long secs = Math.max(1, timeout.toSeconds());
        // The deadline is the guest's clock, not a count of polls: under TCG one poll (a systemctl) took
        // longer than its 0.2 s sleep, so the SSH timeout fired first and the step failed instead of
        // going on without the capture (seen in ops/e2e on a loaded host).
        CommandResult started = shell.run(target, "chmod 0755 " + SCRIPT + " && chmod 0644 " + UNIT + " " + EXCLUDES
                + " && systemctl daemon-reload && systemctl restart sp-change-capture && end=$(( $(date +%s) + " + secs + " ));"
                + " while [ ! -e " + STATE + "/ready ]; do"
                + " systemctl -q is-active sp-change-capture || exit 3;"
                + " [ $(date +%s) -ge $end ] && { systemctl stop sp-change-capture; rm -f " + LOG + "; exit 4; };"
                + " sleep 0.2; done", timeout.plusSeconds(30));
        return switch (started.exitCode()) {
            case 0 -> Optional.empty();
            case 3 -> Optional.of("the agent stopped before its watches were established (journalctl -u sp-change-capture in the guest)");
            case 4 -> Optional.of("the agent did not establish its watches within " + secs + " s");
            default -> Optional.of("the agent could not be installed or started (exit " + started.exitCode() + ")");
        };
    }

    /** Whether the agent captures now. */
    public boolean capturing(GuestTarget target) {
        return shell.run(target, CAPTURING, SHORT).succeeded();
    }

    /** Stops capturing (the log stays, flushed to the guest's disk). */
    public void stop(GuestTarget target) {
        CommandResult r = shell.run(target, STOP, SHORT);
        if (!r.succeeded()) {
            throw new GuestException("the change capture in " + target.describe() + " did not stop (exit " + r.exitCode() + ")");
        }
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
