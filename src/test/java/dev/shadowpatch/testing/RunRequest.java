package dev.shadowpatch.testing;

import dev.shadowpatch.evidence.InstalledPackage;
import dev.shadowpatch.guest.ChangeCapture;
import dev.shadowpatch.workflow.ProcessVariables;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The variables of a patch run request whose maintenance window is open now, and the calls such a run makes. */
public final class RunRequest {
    public static final String LIVE_VM = "web-01";
    public static final String SHADOW_VM = RecordingHypervisor.shadowOf(LIVE_VM);
    public static final String PATCH = "apt-get -y upgrade";
    public static final String TEST = "curl -fsS http://localhost/";

    private RunRequest() {}

    /** Window opened a minute ago, closes in two hours: the run goes into it as soon as it is approved. */
    public static Map<String, Object> windowOpenNow() {
        Instant now = Instant.now();
        Map<String, Object> vars = new LinkedHashMap<>();
        vars.put(ProcessVariables.LIVE_VM, LIVE_VM);
        vars.put(ProcessVariables.PATCH_COMMAND, PATCH);
        vars.put(ProcessVariables.TEST_COMMAND, TEST);
        vars.put(ProcessVariables.REQUESTED_WINDOW_START, now.minusSeconds(60).toString());
        vars.put(ProcessVariables.REQUESTED_WINDOW_END, now.plus(Duration.ofHours(2)).toString());
        return vars;
    }

    /** The capability calls of a run up to the approval task, in order. */
    public static final List<String> BEFORE_APPROVAL = List.of(
            "hypervisor.exists " + LIVE_VM, // the request check: defined and running
            "hypervisor.isRunning " + LIVE_VM,
            "hypervisor.createShadow " + LIVE_VM,
            "hypervisor.waitForAddress " + SHADOW_VM,
            // the packages before the patch (the double answers "ok": unknown, so none are read after the tests)
            "guest.run " + RecordingHypervisor.SHADOW_ADDRESS + " " + InstalledPackage.DPKG_QUERY,
            // the code it runs (the double answers "ok": no PID 1, unknown, so nothing is stat'ed after the tests)
            "guest.run " + RecordingHypervisor.SHADOW_ADDRESS + " " + dev.shadowpatch.restart.RunningCode.CAPTURE,
            "guest.run " + RecordingHypervisor.SHADOW_ADDRESS + " " + ChangeCapture.PROBE, // the change capture begins
            "guest.run " + RecordingHypervisor.SHADOW_ADDRESS + " " + ChangeCapture.CAPTURING, // (the double: it runs already)
            "guest.run " + RecordingHypervisor.SHADOW_ADDRESS + " " + PATCH,
            "guest.run " + RecordingHypervisor.SHADOW_ADDRESS + " " + TEST,
            "hypervisor.isRunning " + SHADOW_VM, // the change capture stops in a running shadow
            "guest.run " + RecordingHypervisor.SHADOW_ADDRESS + " " + ChangeCapture.STOP,
            "hypervisor.shutdown " + SHADOW_VM,
            "merger.plan " + LIVE_VM);

    /** The capability calls of an approved run in its window, in order. */
    public static final List<String> IN_WINDOW = List.of(
            "hypervisor.shutdown " + LIVE_VM,
            "hypervisor.createMergeOverlay " + LIVE_VM,
            "merger.merge " + LIVE_VM,
            "hypervisor.switchToMergeOverlay " + LIVE_VM,
            "hypervisor.start " + LIVE_VM,
            "hypervisor.waitForAddress " + LIVE_VM,
            "guest.run " + RecordingHypervisor.LIVE_ADDRESS + " " + TEST,
            "hypervisor.cleanup " + SHADOW_VM);
}
