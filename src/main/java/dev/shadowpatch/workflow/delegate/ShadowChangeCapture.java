package dev.shadowpatch.workflow.delegate;

import dev.shadowpatch.guest.ChangeCapture;
import dev.shadowpatch.guest.ChangeCapture.State;
import dev.shadowpatch.guest.GuestException;
import dev.shadowpatch.guest.GuestTarget;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Optional;

import static dev.shadowpatch.workflow.ProcessVariables.CHANGE_CAPTURE;
import static dev.shadowpatch.workflow.ProcessVariables.CHANGE_CAPTURE_NOTE;

/**
 * The shadow's change capture as the run records it ({@code changeCapture}, {@code changeCaptureNote}):
 * started before the patch, stopped before the shadow shuts down. Never a reason to fail a step: a
 * guest that cannot capture is patched all the same, and the merge's scan, which decides what changed
 * in any case, finds the changes alone.
 */
final class ShadowChangeCapture {
    private static final Logger log = LoggerFactory.getLogger(ShadowChangeCapture.class);
    /** Within the engine's job lock (90 s): the patch step holds its job while the watches are set up. */
    static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    private ShadowChangeCapture() {}

    /** Starts capturing in the shadow unless it captures already; records capturing, or skipped with the reason. */
    static void begin(ChangeCapture capture, DelegateExecution execution, GuestTarget shadow) {
        Optional<String> cannot = capture.begin(shadow, START_TIMEOUT);
        if (cannot.isEmpty()) {
            record(execution, State.CAPTURING, "");
        } else {
            log.info("run {}: no change capture in the shadow: {}; the scan alone finds the changes",
                    execution.getProcessInstanceId(), cannot.get());
            record(execution, State.SKIPPED, cannot.get() + ": the merge's scan alone finds the shadow's changes");
        }
    }

    /**
     * Stops a capture this run started, before the shadow shuts down, so the log holds the patch and
     * not the shutdown. The shadow must be running; a capture that cannot be stopped is recorded, not fatal.
     */
    static void stop(ChangeCapture capture, DelegateExecution execution, GuestTarget shadow, boolean shadowRunning) {
        Object recorded = execution.getVariable(CHANGE_CAPTURE);
        State state = recorded == null ? null : State.parse(recorded.toString());
        if (state == State.STOPPED) {
            record(execution, State.STOPPED, "stopped at the shadow's first shutdown: what changed after a send-back"
                    + " is found by the merge's scan alone");
            return;
        }
        if (state != State.CAPTURING) {
            return;
        }
        if (!shadowRunning) {
            record(execution, State.NOT_STOPPED, "the shadow was off before the capture could be stopped:"
                    + " the log is as its last flush left it; the merge's scan decides");
            return;
        }
        try {
            capture.stop(shadow);
            record(execution, State.STOPPED, "");
        } catch (GuestException e) {
            log.warn("run {}: the change capture in the shadow could not be stopped: {}", execution.getProcessInstanceId(), e.getMessage());
            record(execution, State.NOT_STOPPED, "the capture could not be stopped before the shutdown (the shadow did not"
                    + " answer): the log is as the shutdown left it; the merge's scan decides");
        }
    }

    private static void record(DelegateExecution execution, State state, String note) {
        execution.setVariable(CHANGE_CAPTURE, state.word());
        execution.setVariable(CHANGE_CAPTURE_NOTE, note);
    }
}
