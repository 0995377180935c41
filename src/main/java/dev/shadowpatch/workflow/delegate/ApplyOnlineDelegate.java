package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.guest.GuestShell;
import dev.shadowpatch.guest.GuestTarget;
import dev.shadowpatch.guest.JschGuestShell;
import dev.shadowpatch.virt.Hypervisors;
import dev.shadowpatch.virt.ShadowClone;
import dev.shadowpatch.workflow.FileSystemPlans;
import dev.shadowpatch.workflow.RunLedger;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.RunState;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.springframework.stereotype.Component;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Collectors;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/**
 * The online merge itself, the only downtime it costs. The units that map what it replaces (found in
 * the shadow and in the live VM itself when it was staged) stop, with every service that was active
 * remembered; then the rollback point: an external snapshot of every disk
 * ({@code Hypervisor.snapshotToMergeOverlay}), taken with those units stopped, so what they wrote is
 * in it and the disks agree with each other; then the applier writes the staged plan (each path
 * checked against the plan again), systemd reloads its units, the units that were active restart, and
 * any service that was active before and stopped with them (a dependency) starts again. The
 * verification follows as after a reboot.
 *
 * <p>An applier that stops (a path changed since the stage, a failed write half-way, killed, an earlier
 * attempt cut off, any error of its own) leaves the live VM half-merged or its units stopped: no retry
 * helps, the window rolls it back to the snapshot (what other units wrote since then is lost with it).
 * A lost SSH connection is retried: the stop is done again (a no-op), the snapshot is found taken, and
 * the applier answers "applied before" once it has finished.
 */
@Component
public class ApplyOnlineDelegate extends InWindowStep {
    /** ssh's own exit code when the connection failed: the command's fate is unknown, a retry asks again */
    static final int SSH_FAILED = 255;

    private final GuestShell shell;
    private final RunSettings settings;
    private final Hypervisors hypervisors;

    public ApplyOnlineDelegate(GuestShell shell, RunSettings settings, Hypervisors hypervisors) {
        this.shell = shell;
        this.settings = settings;
        this.hypervisors = hypervisors;
    }

    @Override
    protected void run(DelegateExecution execution, RunLedger.WindowEntry entry) {
        ShadowClone chain = RunState.clone(execution);
        GuestTarget live = GuestCommandStep.target(execution, RunState.requireString(execution, LIVE_ADDRESS), settings);
        if (execution.getVariable(LIVE_DOWN_AT) == null) { // a retry keeps the first moment
            execution.setVariable(LIVE_DOWN_AT, ClockUtil.getCurrentTime());
        }
        Object found = execution.getVariable(ONLINE_RESTART_UNITS); // the shadow's and the live VM's
        List<String> units = found == null || found.toString().isBlank() ? List.of() : List.of(found.toString().split(" "));
        String unitList = units.stream().map(JschGuestShell::shellQuote).collect(Collectors.joining(" "));
        String remote = StageOnlineDelegate.remoteDir(chain);
        String active = "systemctl list-units --type=service --state=active --no-legend --plain | cut -d' ' -f1 | sort";

        // 1. the units stop; the services active before are remembered once (a retry finds some stopped)
        CommandResult stopped = shell.run(live, "cd " + remote + " && { [ -e active-before ] || " + active + " > active-before; }"
                + (units.isEmpty() ? "" : " && systemctl stop " + unitList), settings.testTimeout());
        if (!stopped.succeeded()) {
            throw new IllegalStateException("stopping " + units + " in the live VM failed (exit " + stopped.exitCode() + "): "
                    + RunState.head((stopped.stderr() + stopped.stdout()).strip()));
        }
        // 2. the rollback point, every disk at once, with the units stopped
        ShadowClone clone = hypervisors.forHost(RunState.hostOf(execution)).snapshotToMergeOverlay(chain, chain.targets());
        RunState.putClone(execution, clone);

        // 3. apply (its exit codes come back as 100 + code), reload, restart what was active, start what
        // stopped with it
        StringBuilder after = new StringBuilder("systemctl daemon-reload && { fail=0; cd " + remote + "; ");
        for (String u : units) {
            after.append("if grep -qxF ").append(JschGuestShell.shellQuote(u)).append(" active-before; then systemctl restart ").append(JschGuestShell.shellQuote(u))
                    .append(" || fail=1; fi; ");
        }
        after.append(active).append(" > active-after; comm -23 active-before active-after | xargs -r systemctl start || fail=1; exit $fail; }");
        CommandResult r = shell.run(live, StageOnlineDelegate.applier(chain) + " apply " + remote + " || exit $((100 + $?)); " + after,
                settings.testTimeout());
        if (r.exitCode() >= 99 && r.exitCode() != SSH_FAILED) { // 100 + the applier's code (a Perl die: 255 + 100 = 99)
            boolean killed = r.exitCode() > 100 + 128;
            throw rollback(execution, "The online merge stopped in the live VM: " + (killed
                    ? "the applier was killed by signal " + (r.exitCode() - 228) : RunState.head(r.stderr().strip()))
                    + "; rolled back to the snapshot taken as it began (what the VM wrote since then is not kept)");
        }
        if (!r.succeeded()) {
            throw new IllegalStateException("the online merge's command ended with exit code " + r.exitCode() + ": "
                    + RunState.head((r.stderr() + r.stdout()).strip()));
        }
        execution.setVariable(LIVE_STARTED_AT, ClockUtil.getCurrentTime());
        execution.setVariable(LIVE_VERIFIED, false);
        // what was written, by rule, as the reboot's merge reports it (the applier did the plan whole or nothing stays)
        FileSystemPlans plans = FileSystemPlans.fromJson(new String(RunState.fileBytes(execution, MERGE_PLAN), StandardCharsets.UTF_8));
        execution.setVariable(MERGE_RULE_COUNTS, RunState.toJson(RunState.sorted(plans.ruleCountWords())));
    }

    @Override
    protected String stepName() {
        return "Merging online in the live VM";
    }
}
