package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.evidence.PackageChange;
import dev.shadowpatch.evidence.PackageReport;
import dev.shadowpatch.guest.GuestTarget;
import dev.shadowpatch.restart.RestartClass;
import dev.shadowpatch.restart.RestartClassifier;
import dev.shadowpatch.restart.RestartNeed;
import dev.shadowpatch.restart.RunningCode;
import dev.shadowpatch.restart.ShadowRunningCode;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.RunState;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/**
 * The restart the patch needs on the live VM, found in the shadow (input {@code runningCode}: BEFORE
 * or AFTER). Before the patch it records the code the shadow runs (what the live VM runs: the shadow
 * booted from its disks); after the tests it stats those files again, classifies the need
 * ({@link RestartClassifier}) and times it in the shadow: the units restarted, or the shadow's own boot.
 * Evidence for the approver, never a reason to stop: what cannot be read is recorded as unknown.
 */
@Component
public class RestartNeedDelegate implements JavaDelegate {
    private static final Logger log = LoggerFactory.getLogger(RestartNeedDelegate.class);
    static final String UNKNOWN = "unknown";
    private final ShadowRunningCode running;
    private final RunSettings settings;

    enum Moment { BEFORE, AFTER }

    public RestartNeedDelegate(ShadowRunningCode running, RunSettings settings) {
        this.running = running;
        this.settings = settings;
    }

    @Override
    public void execute(DelegateExecution execution) {
        Moment moment = Moment.valueOf(String.valueOf(execution.getVariableLocal("runningCode")));
        GuestTarget shadow = GuestCommandStep.target(execution, RunState.requireString(execution, SHADOW_ADDRESS), settings);
        try {
            if (moment == Moment.BEFORE) {
                RunningCode code = running.capture(shadow);
                execution.setVariable(RUNNING_CODE_BEFORE, RunState.textFile("running-code-before.tsv", code.toText()));
                log.info("run {}: the shadow runs {} unit(s) mapping {} file(s)", execution.getProcessInstanceId(),
                        code.processUnits(), code.files().size());
            } else {
                after(execution, shadow);
            }
        } catch (RuntimeException e) { // evidence, never a reason to stop the run
            String reason = e instanceof ShadowRunningCode.Unknown ? e.getMessage() : e.getClass().getSimpleName() + ": " + e.getMessage();
            unknown(execution, (moment == Moment.BEFORE ? "the running code before the patch could not be read: "
                    : "the running code after the patch could not be read: ") + reason);
        }
    }

    private void after(DelegateExecution execution, GuestTarget shadow) {
        if (execution.getVariable(RUNNING_CODE_BEFORE) == null) {
            if (execution.getVariable(RESTART_CLASS) == null) { // else: the reason recorded before the patch stands
                unknown(execution, "the running code before the patch was not read");
            }
            return;
        }
        RunningCode before = RunningCode.parse(new String(RunState.fileBytes(execution, RUNNING_CODE_BEFORE), StandardCharsets.UTF_8));
        byte[] changesJson = execution.getVariable(PACKAGE_CHANGES) == null ? null : RunState.fileBytes(execution, PACKAGE_CHANGES);
        PackageReport packages = changesJson == null ? PackageReport.unknown("not read") : PackageReport.fromJson(changesJson);
        RestartNeed need = RestartClassifier.classify(before, running.restat(shadow, before.livePaths()),
                packages.packages().stream().map(PackageChange::name).toList());
        if (packages.state() == PackageReport.State.UNKNOWN && need.restartClass() != RestartClass.SYSTEM) {
            // a new kernel maps nothing: without the package list it cannot be ruled out
            List<String> reasons = new ArrayList<>(List.of("the patch's packages are unknown (" + packages.reason() + "): a new kernel cannot be ruled out"));
            reasons.addAll(need.reasons());
            need = new RestartNeed(RestartClass.SYSTEM, need.units(), reasons, need.sessions(), null, null);
        }
        need = measure(execution, shadow, need);
        execution.setVariable(RESTART_NEED, RunState.jsonFile("restart-need.json", need.toJson().getBytes(StandardCharsets.UTF_8)));
        execution.setVariable(RESTART_CLASS, need.restartClass().word());
        execution.setVariable(RESTART_SUMMARY, RunState.head(need.summary()));
        execution.setVariable(RESTART_SECONDS, need.measuredSeconds());
        log.info("run {}: restart needed: {}", execution.getProcessInstanceId(), need.summary());
    }

    /** Times the restart in the shadow: the units for a services-class patch, the shadow's boot for a reboot. */
    private RestartNeed measure(DelegateExecution execution, GuestTarget shadow, RestartNeed need) {
        return switch (need.restartClass()) {
            case NONE -> need.withMeasure(0.0, "nothing to restart");
            case SERVICES -> {
                OptionalDouble took = running.timeRestart(shadow, need.units());
                if (took.isPresent()) {
                    yield need.withMeasure(took.getAsDouble(), "systemctl restart of " + need.units().size() + " unit(s)");
                }
                List<String> reasons = new ArrayList<>(need.reasons());
                reasons.add(0, "restarting " + String.join(", ", need.units()) + " failed in the shadow: only a reboot is known to work");
                yield measure(execution, shadow, new RestartNeed(RestartClass.SYSTEM, need.units(), reasons, need.sessions(), null, null));
            }
            case SYSTEM -> {
                Object boot = execution.getVariable(SHADOW_BOOT_SECONDS);
                yield boot instanceof Number n ? need.withMeasure(n.doubleValue(), "the shadow's boot to its address") : need;
            }
        };
    }

    private static void unknown(DelegateExecution execution, String reason) {
        execution.setVariable(RESTART_CLASS, UNKNOWN);
        execution.setVariable(RESTART_SUMMARY, RunState.head("unknown: " + reason));
        log.warn("run {}: restart need unknown: {}", execution.getProcessInstanceId(), reason);
    }
}
