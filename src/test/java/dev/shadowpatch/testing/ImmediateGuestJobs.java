package dev.shadowpatch.testing;

import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.guest.GuestJobs;
import dev.shadowpatch.guest.GuestShell;
import dev.shadowpatch.guest.GuestTarget;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Test double of {@link GuestJobs} for the process tests: a job runs at once, in full, through the
 * given {@link GuestShell} (a Mockito double or a {@link RecordingGuestShell}, so the tests' stubs and
 * call logs of {@code guest.run(target, command)} keep working), and is finished when polled. The
 * real detached jobs are tested against a real shell in {@code DetachedGuestJobsTest} and in the
 * end-to-end run.
 */
public class ImmediateGuestJobs implements GuestJobs {
    private final GuestShell shell;
    private final Map<String, CommandResult> finished = new ConcurrentHashMap<>();
    private final java.util.Set<String> held = ConcurrentHashMap.newKeySet();
    private final java.util.Set<String> stopped = ConcurrentHashMap.newKeySet();

    /** Jobs running this command stay RUNNING when polled until {@link #release}: a long patch or a slow boot. */
    public void holdRunning(String command) {
        held.add(command);
    }

    public void release(String command) {
        held.remove(command);
    }

    private final java.util.Set<String> unreachable = ConcurrentHashMap.newKeySet();

    /** Looks at jobs running this command fail as a connection to a guest restarting sshd does, until {@link #reachable}. */
    public void unreachable(String command) {
        unreachable.add(command);
    }

    public void reachable(String command) {
        unreachable.remove(command);
    }

    /** Commands whose job was stopped (at its timeout). */
    public java.util.Set<String> stopped() {
        return stopped;
    }

    public void reset() {
        held.clear();
        stopped.clear();
        unreachable.clear();
        finished.clear();
    }

    public ImmediateGuestJobs(GuestShell shell) {
        this.shell = shell;
    }

    @Override
    public boolean start(GuestTarget target, String jobId, String command) {
        String key = target.host() + "/" + jobId;
        if (finished.containsKey(key)) {
            return false;
        }
        finished.put(key, shell.run(target, command, Duration.ofHours(1)));
        return true;
    }

    @Override
    public JobStatus poll(GuestTarget target, String jobId) {
        CommandResult r = finished.get(target.host() + "/" + jobId);
        if (r == null) {
            return new JobStatus(State.NOT_STARTED, -1, "", 0);
        }
        if (unreachable.contains(r.command())) {
            throw new dev.shadowpatch.guest.GuestException("SSH to root@" + target.host() + ":22 failed: Session.connect: java.net.SocketException: Connection reset");
        }
        String output = r.stdout() + r.stderr();
        if (stopped.contains(r.command())) {
            return new JobStatus(State.LOST, -1, output, output.length());
        }
        if (held.contains(r.command())) {
            return new JobStatus(State.RUNNING, -1, output, output.length());
        }
        return new JobStatus(State.FINISHED, r.exitCode(), output, output.length());
    }

    @Override
    public JobStatus stop(GuestTarget target, String jobId) {
        CommandResult r = finished.get(target.host() + "/" + jobId);
        if (r != null) {
            stopped.add(r.command());
        }
        return poll(target, jobId);
    }
}
