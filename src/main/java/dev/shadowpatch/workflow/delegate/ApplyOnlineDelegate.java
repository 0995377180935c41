package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.guest.GuestShell;
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
 * The online merge itself, the only downtime it costs: the units that map what it replaces (found in
 * the shadow and in the live VM itself when it was staged) stop, the applier writes the staged plan into the running live VM (each path checked against
 * the plan again), systemd reloads its units, the units start; the verification follows as after a
 * reboot. An applier that stops (a path changed since the stage, a failed write half-way, killed, an
 * earlier attempt cut off) leaves the live VM half-merged or its units stopped: no retry helps, the
 * window rolls it back to its rollback point. A
 * lost connection is retried: the applier answers "applied before" once it has finished.
 */
@Component
public class ApplyOnlineDelegate extends InWindowStep {
    /**
     * sp-online-apply's exit codes as the command returns them: 3 (a path changed since the stage:
     * nothing written, but the units are stopped), 4 (failed half-way), 5 (an earlier apply cut off)
     */
    static final int CHANGED_SINCE_STAGE = 103, HALF_MERGED = 104, CUT_OFF_BEFORE = 105;

    private final GuestShell shell;
    private final RunSettings settings;

    public ApplyOnlineDelegate(GuestShell shell, RunSettings settings) {
        this.shell = shell;
        this.settings = settings;
    }

    @Override
    protected void run(DelegateExecution execution, RunLedger.WindowEntry entry) {
        ShadowClone clone = RunState.clone(execution);
        if (execution.getVariable(LIVE_DOWN_AT) == null) { // a retry keeps the first moment
            execution.setVariable(LIVE_DOWN_AT, ClockUtil.getCurrentTime());
        }
        Object found = execution.getVariable(StageOnlineDelegate.ONLINE_RESTART_UNITS); // the shadow's and the live VM's
        List<String> units = found == null || found.toString().isBlank() ? List.of() : List.of(found.toString().split(" "));
        String unitList = units.stream().map(ApplyOnlineDelegate::quote).collect(Collectors.joining(" "));
        String remote = StageOnlineDelegate.remoteDir(clone);
        // the applier's own exit codes come back as 100 + code (systemctl has its own 4 and 5); a unit
        // still running after a failed stop is restarted, not started (a start would leave its old code)
        String command = (units.isEmpty() ? "" : "systemctl stop " + unitList + "; ")
                + StageOnlineDelegate.applier(clone) + " apply " + remote + " || exit $((100 + $?)); systemctl daemon-reload"
                + (units.isEmpty() ? "" : " && systemctl restart " + unitList);
        CommandResult r = shell.run(GuestCommandStep.target(execution, RunState.requireString(execution, LIVE_ADDRESS), settings),
                command, settings.testTimeout());
        boolean killed = r.exitCode() > 100 + 128 && r.exitCode() < 255; // the applier ended by a signal (ssh's own failure is 255)
        if (r.exitCode() == CHANGED_SINCE_STAGE || r.exitCode() == HALF_MERGED || r.exitCode() == CUT_OFF_BEFORE || killed) {
            throw rollback(execution, "The online merge stopped half-way in the live VM: " + (killed
                    ? "the applier was killed by signal " + (r.exitCode() - 228) : RunState.head(r.stderr().strip())));
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

    /** A unit name as one shell word (systemd's names hold no quote, but a name is never trusted to). */
    private static String quote(String unit) {
        return "'" + unit.replace("'", "'\\''") + "'";
    }

    @Override
    protected String stepName() {
        return "Merging online in the live VM";
    }
}
