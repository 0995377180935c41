package dev.shadowpatch.restart;

import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.guest.GuestException;
import dev.shadowpatch.guest.GuestShell;
import dev.shadowpatch.guest.GuestTarget;
import org.springframework.stereotype.Component;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

/** The shadow's running code over SSH: captured before the patch, its files stat'ed again after, units restarted to time them. */
@Component
public class ShadowRunningCode {
    static final Duration READ_TIMEOUT = Duration.ofMinutes(2);
    static final Duration RESTART_TIMEOUT = Duration.ofMinutes(5);
    static final String PATH_LIST = "/run/sp-running-code-paths";
    private final GuestShell shell;

    public ShadowRunningCode(GuestShell shell) {
        this.shell = shell;
    }

    /** Why the running code could not be read; the run records it and goes on. */
    public static class Unknown extends RuntimeException {
        public Unknown(String reason) {
            super(reason);
        }
    }

    public RunningCode capture(GuestTarget shadow) {
        RunningCode code = RunningCode.parse(run(shadow, RunningCode.CAPTURE, READ_TIMEOUT).stdout());
        if (!code.pathsByUnit().containsKey(RunningCode.PID1_UNIT)) {
            throw new Unknown("PID 1 was not among the shadow's processes (no cgroup v2 init.scope?): " + code.processUnits() + " unit(s) read");
        }
        return code;
    }

    /** The identity now of the paths captured before; a path missing from the answer is gone. */
    public Map<String, FileState> restat(GuestTarget shadow, Collection<String> paths) {
        shell.upload(shadow, String.join("\n", paths).concat("\n").getBytes(StandardCharsets.UTF_8), PATH_LIST);
        return RunningCode.parseStates(run(shadow, RunningCode.restatCommand(PATH_LIST), READ_TIMEOUT).stdout());
    }

    /** Restarts the units in the shadow and returns how long systemctl took, or empty when a unit failed to restart. */
    public OptionalDouble timeRestart(GuestTarget shadow, List<String> units) {
        String names = String.join(" ", units.stream().map(u -> "'" + u.replace("'", "") + "'").toList());
        CommandResult r = run(shadow, "t0=$(date +%s%N); systemctl restart " + names + " || exit 3; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 ))",
                RESTART_TIMEOUT);
        if (!r.succeeded()) {
            return OptionalDouble.empty();
        }
        try {
            return OptionalDouble.of(Long.parseLong(r.stdout().strip()) / 1000.0);
        } catch (NumberFormatException e) {
            return OptionalDouble.empty();
        }
    }

    private CommandResult run(GuestTarget shadow, String command, Duration timeout) {
        try {
            return shell.run(shadow, command, timeout);
        } catch (GuestException e) {
            throw new Unknown("the shadow did not answer: " + e.getMessage());
        }
    }
}
