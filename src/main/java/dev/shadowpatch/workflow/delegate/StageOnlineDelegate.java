package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.guest.GuestShell;
import dev.shadowpatch.guest.GuestTarget;
import dev.shadowpatch.online.OnlinePayload;
import dev.shadowpatch.online.OnlinePlan;
import dev.shadowpatch.restart.RestartClass;
import dev.shadowpatch.restart.RestartClassifier;
import dev.shadowpatch.restart.RestartNeed;
import dev.shadowpatch.restart.ShadowRunningCode;
import dev.shadowpatch.virt.Hypervisors;
import dev.shadowpatch.virt.ShadowClone;
import dev.shadowpatch.virt.VmAddress;
import dev.shadowpatch.workflow.MergeMode;
import dev.shadowpatch.workflow.OnlineOffer;
import dev.shadowpatch.workflow.RunLedger;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.RunState;
import dev.shadowpatch.workflow.ShadowMerger;
import org.camunda.bpm.engine.delegate.BpmnError;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/**
 * The online merge's first step, while the live VM still serves: the decided plan is checked to be
 * one the applier can run, packed from the shadow, sent to the live VM and staged there; the applier
 * checks every planned path against the plan first and writes no live path. Whatever goes wrong here
 * (a path the live VM changed, an unreachable guest, a plan that is no longer online) is no failure:
 * nothing was written, and the window takes the reboot path instead ({@code onlineFallback} says why).
 */
@Component
public class StageOnlineDelegate extends InWindowStep {
    private static final Logger log = LoggerFactory.getLogger(StageOnlineDelegate.class);
    static final String REMOTE_ROOT = "/var/lib/sp-online";

    private final Hypervisors hypervisors;
    private final ShadowMerger merger;
    private final GuestShell shell;
    private final RunSettings settings;
    private final ShadowRunningCode running;

    public StageOnlineDelegate(Hypervisors hypervisors, ShadowMerger merger, GuestShell shell, RunSettings settings,
                               ShadowRunningCode running) {
        this.hypervisors = hypervisors;
        this.merger = merger;
        this.shell = shell;
        this.settings = settings;
        this.running = running;
    }

    static String remoteDir(ShadowClone clone) {
        return REMOTE_ROOT + "/" + clone.runId();
    }

    static String applier(ShadowClone clone) {
        return "perl " + remoteDir(clone) + "/" + OnlinePayload.APPLIER;
    }

    @Override
    protected void run(DelegateExecution execution, RunLedger.WindowEntry entry) {
        ShadowClone clone = RunState.clone(execution);
        // the door wrote the moment the live VM may go down; online it goes down only when the units stop
        // (the apply writes it), after a fallback when the reboot's shutdown starts (the quiesce writes it)
        execution.removeVariable(LIVE_DOWN_AT);
        GuestTarget live = null;
        try {
            OnlinePlan online = OnlineOffer.plan(execution);
            if (!online.possible()) {
                fallBack(execution, "the decided plan cannot be merged online: " + online.whyNot());
                return;
            }
            Object configured = execution.getVariable(CONFIGURED_LIVE_ADDRESS);
            VmAddress address = hypervisors.forHost(RunState.hostOf(execution))
                    .waitForAddress(clone.liveVm(), Duration.ofSeconds(30), configured == null ? null : configured.toString());
            execution.setVariable(LIVE_ADDRESS, address.address());
            live = GuestCommandStep.target(execution, address.address(), settings);
            // what the live VM runs now, not only what its fresh-booted shadow ran: whoever maps a file
            // the merge writes is restarted, and code only a reboot replaces sends the merge to the reboot
            Set<String> written = online.steps().stream()
                    .filter(s -> s.verb() == OnlinePlan.Verb.PUT || s.verb() == OnlinePlan.Verb.DELETE)
                    .map(OnlinePlan.Step::guestPath).collect(Collectors.toSet());
            RestartNeed liveNeed = RestartClassifier.classifyWrites(running.capture(live), written);
            if (liveNeed.restartClass() == RestartClass.SYSTEM) {
                fallBack(execution, "the live VM runs code only a reboot replaces: " + String.join("; ", liveNeed.reasons()));
                return;
            }
            Set<String> units = new TreeSet<>(liveNeed.units());
            if (execution.getVariable(RESTART_NEED) != null) {
                units.addAll(RestartNeed.fromJson(RunState.fileBytes(execution, RESTART_NEED)).units());
            }
            Path local = Files.createTempDirectory("sp-online-");
            try {
                List<Path> files = merger.writeOnlinePayload(clone, RunState.layout(execution), online,
                        RunState.fileBytes(execution, MERGE_PLAN), local);
                String remote = remoteDir(clone);
                // one run's directory at a time: an earlier run's (rolled back, or its VM restored) goes
                shell.run(live, "rm -rf " + REMOTE_ROOT + " && mkdir -p -m 700 " + remote, settings.commandSettle().plusSeconds(30));
                for (Path f : files) {
                    shell.upload(live, f, remote + "/" + f.getFileName());
                }
                CommandResult staged = shell.run(live, applier(clone) + " stage " + remote, settings.testTimeout());
                if (!staged.succeeded()) {
                    shell.run(live, applier(clone) + " unstage " + remote, settings.testTimeout());
                    fallBack(execution, (staged.exitCode() == 3 ? "" : "staging failed (exit " + staged.exitCode() + "): ")
                            + RunState.head(staged.stderr().strip()));
                    return;
                }
            } finally {
                org.springframework.util.FileSystemUtils.deleteRecursively(local);
            }
            execution.setVariable(ONLINE_RESTART_UNITS, String.join(" ", units));
            execution.setVariable(ONLINE_STAGED, true);
            execution.setVariable(MERGE_MODE_RAN, MergeMode.ONLINE.formValue);
            log.info("run {}: online merge of {} staged in the live VM ({} operations)", execution.getProcessInstanceId(),
                    clone.liveVm(), online.steps().size());
        } catch (BpmnError e) {
            throw e;
        } catch (RuntimeException | IOException e) {
            if (live != null) { // a stage cut off half-way (a timeout, a lost connection) leaves nothing behind
                try {
                    shell.run(live, applier(clone) + " unstage " + remoteDir(clone) + " || rm -rf " + REMOTE_ROOT, settings.testTimeout());
                } catch (RuntimeException unreachable) {
                    e.addSuppressed(unreachable);
                }
            }
            fallBack(execution, "the online merge could not be staged: " + e.getMessage());
        }
    }

    private static void fallBack(DelegateExecution execution, String why) {
        log.warn("run {}: taking the reboot path: {}", execution.getProcessInstanceId(), why);
        execution.setVariable(ONLINE_STAGED, false);
        execution.setVariable(MERGE_MODE_RAN, MergeMode.REBOOT.formValue);
        execution.setVariable(ONLINE_FALLBACK, RunState.head(why));
    }

    @Override
    protected String stepName() {
        return "Staging the online merge";
    }
}
