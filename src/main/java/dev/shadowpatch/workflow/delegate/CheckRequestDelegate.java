package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.virt.AddressChoice;
import dev.shadowpatch.virt.Hypervisors;
import dev.shadowpatch.workflow.PatchBundle;
import dev.shadowpatch.workflow.ProcessKeys;
import dev.shadowpatch.workflow.RequestedWindow;
import dev.shadowpatch.workflow.LayoutCheck;
import dev.shadowpatch.workflow.RunLedger;
import dev.shadowpatch.workflow.RunOutcome;
import dev.shadowpatch.workflow.RunSettings;
import dev.shadowpatch.workflow.RunState;
import dev.shadowpatch.workflow.WindowCalendar;
import dev.shadowpatch.workflow.WindowCalendars;
import org.camunda.bpm.engine.BadUserRequestException;
import org.camunda.bpm.engine.delegate.BpmnError;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.JavaDelegate;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.springframework.stereotype.Component;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static dev.shadowpatch.workflow.ProcessVariables.*;

/**
 * The run's first step, in the start's own transaction: every start variable is checked before
 * anything is touched (the VM exists on its host, runs and has a file disk in a format its
 * snapshot can carry, whose file systems its /etc/fstab names and the merge can read: {@link LayoutCheck};
 * the bundle exists; the window parses and can hold a merge; the named window and the host exist;
 * a configured live address is an IP address or host name; no other run holds the
 * VM). Any problem fails the start with all of them named, so no instance, snapshot or shadow is
 * left. (A campaign's run is refused by a BPMN error instead: it ends as {@link RunOutcome#REFUSED}
 * with the problems in {@code requestRefusal}, and the campaign goes on.) The request as accepted is
 * recorded in the {@link RunLedger} and the VM is claimed for the run.
 */
@Component
public class CheckRequestDelegate implements JavaDelegate {
    private final Hypervisors hypervisors;
    private final WindowCalendars calendars;
    private final RunSettings settings;
    private final RunLedger ledger;
    private final LayoutCheck layouts;

    public CheckRequestDelegate(Hypervisors hypervisors, WindowCalendars calendars, RunSettings settings, RunLedger ledger,
                                LayoutCheck layouts) {
        this.hypervisors = hypervisors;
        this.calendars = calendars;
        this.settings = settings;
        this.ledger = ledger;
        this.layouts = layouts;
    }

    /** A refused start: every problem, numbered (HTTP 400 through the REST API). */
    public static class RequestRefusedException extends BadUserRequestException {
        public RequestRefusedException(List<String> problems) {
            super("The patch run was not started (nothing was created or touched): " + numbered(problems));
        }

        private static String numbered(List<String> problems) {
            StringBuilder s = new StringBuilder();
            for (int i = 0; i < problems.size(); i++) {
                s.append(i == 0 ? "" : "; ").append(i + 1).append(") ").append(problems.get(i));
            }
            return s.toString();
        }
    }

    @Override
    public void execute(DelegateExecution execution) {
        List<String> problems = new ArrayList<>();
        String liveVm = text(execution, LIVE_VM);
        String host = RunState.hostOf(execution);
        required(problems, LIVE_VM, liveVm, "the libvirt name of the VM to patch");
        required(problems, PATCH_COMMAND, text(execution, PATCH_COMMAND), "what runs in the shadow, e.g. apt-get -y upgrade");
        required(problems, TEST_COMMAND, text(execution, TEST_COMMAND), "a command that exits 0 when the service works");

        String windowName = WindowCalendars.nameOf(execution);
        WindowCalendar calendar = null;
        try {
            calendar = calendars.named(windowName);
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
        Instant now = ClockUtil.getCurrentTime().toInstant();
        RequestedWindow requested = null;
        try {
            requested = RequestedWindow.parse(execution.getVariable(REQUESTED_WINDOW_START), execution.getVariable(REQUESTED_WINDOW_END));
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
        if (requested != null && calendar != null) {
            Duration least = settings.predictDowntime(0, 0).plus(calendar.rollbackMargin());
            if (!requested.window().closes().isAfter(now)) {
                problems.add("the requested window " + requested + " has already ended");
            } else if (Duration.between(requested.window().opens(), requested.window().closes()).compareTo(least) < 0) {
                problems.add("the requested window " + requested + " is shorter than shutdown + boot + rollback margin ("
                        + least.toSeconds() + " s): no merge can fit in it");
            }
        }
        Object bundle = execution.getVariable(PATCH_BUNDLE);
        if (bundle != null && !bundle.toString().isBlank()) {
            try {
                PatchBundle.resolve(settings.bundleRoot(), bundle.toString());
            } catch (IllegalArgumentException e) {
                problems.add(e.getMessage());
            }
        }
        String configured = text(execution, CONFIGURED_LIVE_ADDRESS);
        if (configured != null) {
            AddressChoice.problemWith(configured).ifPresent(p -> problems.add("'" + CONFIGURED_LIVE_ADDRESS + "': " + p));
        }
        if (liveVm != null) {
            checkVm(problems, host, liveVm, execution.getProcessInstanceId(), execution);
        }
        if (liveVm != null && problems.isEmpty()) {
            // last, as it mounts the running VM's disks read-only: only a request otherwise fine gets that far
            LayoutCheck.Outcome layout = layouts.read(hypervisors.forHost(host), liveVm);
            problems.addAll(layout.problems());
            if (layout.layout() != null) {
                RunState.putLayout(execution, layout.layout());
            }
        }
        if (!problems.isEmpty()) {
            RequestRefusedException refused = new RequestRefusedException(problems);
            if (execution.getProcessInstance().getSuperExecution() != null) {
                // A campaign's run: the refusal fails this VM in the campaign (its report names the
                // problems), not the campaign's call activity with an incident that stops every VM after it.
                execution.setVariable(REQUEST_REFUSAL, refused.getMessage());
                execution.setVariable(OUTCOME, RunOutcome.REFUSED.words);
                throw new BpmnError(ProcessKeys.ERROR_REQUEST_REFUSED, refused.getMessage());
            }
            throw refused;
        }
        ledger.claim(host, liveVm, execution.getProcessInstanceId()); // the primary key settles two starts at once
        ledger.recordRequest(new RunLedger.Request(execution.getProcessInstanceId(), liveVm, host, windowName,
                requested == null ? null : requested.window().opens(), requested == null ? null : requested.window().closes(),
                text(execution, STARTED_BY), now));
    }

    private void checkVm(List<String> problems, String host, String liveVm, String runId, DelegateExecution execution) {
        try {
            problems.addAll(hypervisors.forHost(host).checkPatchable(liveVm));
        } catch (IllegalArgumentException e) { // an unknown inventory host
            problems.add(e.getMessage());
            return;
        } catch (RuntimeException e) {
            problems.add("the hypervisor" + (host == null ? "" : " of host " + host) + " did not answer about VM "
                    + liveVm + ": " + e.getMessage());
            return;
        }
        ledger.claimant(host, liveVm).ifPresent(other -> {
            boolean alive = execution.getProcessEngineServices().getRuntimeService().createProcessInstanceQuery()
                    .processInstanceId(other).count() > 0;
            if (alive) {
                problems.add("VM " + liveVm + " already has an open patch run " + other
                        + ": finish or abandon it first (one run per VM)");
            } else {
                ledger.dropClaim(host, liveVm, other); // its run was deleted by an administrator
            }
        });
    }

    private static void required(List<String> problems, String name, String value, String what) {
        if (value == null) {
            problems.add("'" + name + "' is required: " + what);
        }
    }

    private static String text(DelegateExecution execution, String name) {
        Object value = execution.getVariable(name);
        return value == null || value.toString().isBlank() ? null : value.toString();
    }
}
