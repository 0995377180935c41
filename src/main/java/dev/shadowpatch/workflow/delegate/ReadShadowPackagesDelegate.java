package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.evidence.InstalledPackage;
import dev.shadowpatch.evidence.PackageChange;
import dev.shadowpatch.evidence.PackageChanges;
import dev.shadowpatch.evidence.PackageReport;
import dev.shadowpatch.evidence.ShadowPackages;
import dev.shadowpatch.guest.GuestTarget;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.RunState;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/**
 * Reads the shadow's dpkg database before the patch, and after the tests what the patch changed in
 * it with the security ids of each upgrade (the task's input {@code packagesRead}: BEFORE or AFTER).
 * Evidence for the approver, never a reason to stop: a shadow whose packages cannot be read is
 * recorded as "unknown" with the reason, and the run goes on. Its own step, so the reads hold no
 * other step's job lock.
 */
@Component
public class ReadShadowPackagesDelegate implements JavaDelegate {
    private static final Logger log = LoggerFactory.getLogger(ReadShadowPackagesDelegate.class);
    private final ShadowPackages packages;
    private final RunSettings settings;

    enum Moment { BEFORE, AFTER }

    public ReadShadowPackagesDelegate(ShadowPackages packages, RunSettings settings) {
        this.packages = packages;
        this.settings = settings;
    }

    @Override
    public void execute(DelegateExecution execution) {
        Moment moment = Moment.valueOf(String.valueOf(execution.getVariableLocal("packagesRead")));
        GuestTarget shadow = GuestCommandStep.target(execution, RunState.requireString(execution, SHADOW_ADDRESS), settings);
        if (moment == Moment.BEFORE) {
            before(execution, shadow);
        } else {
            after(execution, shadow);
        }
    }

    private void before(DelegateExecution execution, GuestTarget shadow) {
        try {
            InstalledPackage.Listing listing = packages.installed(shadow);
            execution.setVariable(PACKAGES_BEFORE, RunState.textFile("packages-before.tsv", listing.toText()));
            log.info("run {}: {} packages in the shadow before the patch", execution.getProcessInstanceId(), listing.packages().size());
        } catch (RuntimeException e) {
            record(execution, PackageReport.unknown("the packages before the patch could not be read: " + reason(e)));
        }
    }

    private void after(DelegateExecution execution, GuestTarget shadow) {
        if (execution.getVariable(PACKAGES_BEFORE) == null) {
            if (execution.getVariable(PACKAGE_CHANGES) == null) { // else: the reason recorded before the patch stands
                record(execution, PackageReport.unknown("the packages before the patch were not read"));
            }
            return;
        }
        InstalledPackage.Listing before = InstalledPackage.Listing.parse(
                new String(RunState.fileBytes(execution, PACKAGES_BEFORE), StandardCharsets.UTF_8));
        try {
            InstalledPackage.Listing now = packages.installed(shadow);
            List<PackageChange> changes = PackageChanges.between(before.packages(), now.packages());
            record(execution, PackageReport.known(packages.withSecurity(shadow, changes), now.malformedLines()));
        } catch (RuntimeException e) {
            record(execution, PackageReport.unknown("the packages after the patch could not be read: " + reason(e)));
        }
    }

    /** Ours for a known failure; for anything else its type and message (our code's, never the guest's output). */
    private static String reason(RuntimeException e) {
        return e instanceof ShadowPackages.Unknown ? e.getMessage() : e.getClass().getSimpleName() + ": " + e.getMessage();
    }

    private static void record(DelegateExecution execution, PackageReport report) {
        execution.setVariable(PACKAGE_CHANGES, RunState.jsonFile("package-changes.json", report.toJson()));
        execution.setVariable(PACKAGE_CHANGES_SUMMARY, RunState.head(report.summary()));
        execution.setVariable(PACKAGE_CHANGES_ROWS, report.formRows(RunState.PREVIEW_CHARS));
        if (report.state() == PackageReport.State.UNKNOWN) {
            log.warn("run {}: {}", execution.getProcessInstanceId(), report.headline());
        } else {
            log.info("run {}: {}", execution.getProcessInstanceId(), report.headline());
        }
    }
}
