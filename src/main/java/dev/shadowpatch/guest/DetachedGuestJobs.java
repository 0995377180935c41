package dev.shadowpatch.guest;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

import java.time.Duration;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * {@link GuestJobs} with plain POSIX shell over {@link GuestShell}: each job has a directory under
 * {@code /run/shadowpatch-jobs} (tmpfs: nothing of it reaches the guest's disk, so nothing of it is
 * merged). {@code mkdir} of that directory is the once-only guard; the command runs under
 * {@code setsid} (its own session, so the end of the SSH connection does not end it) with its output
 * in {@code out} and its exit code written to {@code rc} when it ends.
 */
@Component
public class DetachedGuestJobs implements GuestJobs {
    private static final Pattern JOB_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final Duration CALL = Duration.ofSeconds(30);

    private final GuestShell shell;
    private final String root;

    @Autowired
    public DetachedGuestJobs(GuestShell shell) {
        this(shell, "/run/shadowpatch-jobs");
    }

    public DetachedGuestJobs(GuestShell shell, String root) {
        this.shell = shell;
        this.root = root;
    }

    @Override
    public boolean start(GuestTarget target, String jobId, String command) {
        String dir = dir(jobId);
        String delimiter = "SP_CMD_" + UUID.randomUUID().toString().replace("-", "");
        String script = "mkdir -p " + root + " && if ! mkdir " + dir + " 2>/dev/null; then echo sp-job-exists; exit 0; fi\n"
                + "cat > " + dir + "/cmd <<'" + delimiter + "'\n" + command + "\n" + delimiter + "\n"
                + "setsid sh -c 'sh \"$0/cmd\" > \"$0/out\" 2>&1 < /dev/null; echo $? > \"$0/rc.tmp\"; mv \"$0/rc.tmp\" \"$0/rc\"' "
                + dir + " > /dev/null 2>&1 < /dev/null &\n"
                + "echo $! > " + dir + "/pid\necho sp-job-started\n";
        CommandResult r = shell.run(target, script, CALL);
        if (!r.succeeded() || !(r.stdout().contains("sp-job-started") || r.stdout().contains("sp-job-exists"))) {
            throw new GuestException("could not start job " + jobId + " on " + target.describe() + " (exit " + r.exitCode()
                    + "): " + r.stderr().strip());
        }
        return r.stdout().contains("sp-job-started");
    }

    @Override
    public JobStatus poll(GuestTarget target, String jobId) {
        String dir = dir(jobId);
        String script = "d=" + dir + "; if [ ! -d $d ]; then echo sp-job-none; exit 0; fi\n"
                + "if [ -f $d/rc ]; then echo \"sp-job-rc $(cat $d/rc)\";"
                + " elif [ -f $d/pid ] && kill -0 \"$(cat $d/pid)\" 2>/dev/null; then echo sp-job-running;"
                + " else echo sp-job-lost; fi\n"
                + "echo \"sp-job-bytes $(cat $d/out 2>/dev/null | wc -c)\"\n"
                + "tail -c " + JobStatus.MAX_OUTPUT + " $d/out 2>/dev/null\n";
        CommandResult r = shell.run(target, script, CALL);
        if (!r.succeeded()) {
            throw new GuestException("could not read job " + jobId + " on " + target.describe() + " (exit " + r.exitCode()
                    + "): " + r.stderr().strip());
        }
        return parse(jobId, r.stdout());
    }

    @Override
    public JobStatus stop(GuestTarget target, String jobId) {
        String dir = dir(jobId);
        shell.run(target, "d=" + dir + "; if [ -f $d/pid ] && [ ! -f $d/rc ]; then p=$(cat $d/pid);"
                + " kill -TERM -$p 2>/dev/null; for i in 1 2 3 4 5; do kill -0 $p 2>/dev/null || break; sleep 1; done;"
                + " kill -KILL -$p 2>/dev/null; fi; true", CALL);
        return poll(target, jobId);
    }

    static JobStatus parse(String jobId, String stdout) {
        int first = stdout.indexOf('\n');
        String head = (first < 0 ? stdout : stdout.substring(0, first)).strip();
        if (head.equals("sp-job-none")) {
            return new JobStatus(State.NOT_STARTED, -1, "", 0);
        }
        String rest = first < 0 ? "" : stdout.substring(first + 1);
        int second = rest.indexOf('\n');
        String bytesLine = second < 0 ? rest : rest.substring(0, second);
        String output = second < 0 ? "" : rest.substring(second + 1);
        long bytes = bytesLine.startsWith("sp-job-bytes ") ? Long.parseLong(bytesLine.substring(13).strip()) : output.length();
        if (head.startsWith("sp-job-rc ")) {
            return new JobStatus(State.FINISHED, Integer.parseInt(head.substring(10).strip()), output, bytes);
        }
        if (head.equals("sp-job-running")) {
            return new JobStatus(State.RUNNING, -1, output, bytes);
        }
        if (head.equals("sp-job-lost")) {
            return new JobStatus(State.LOST, -1, output, bytes);
        }
        throw new GuestException("unexpected answer about job " + jobId + ": " + head);
    }

    private String dir(String jobId) {
        if (jobId == null || !JOB_ID.matcher(jobId).matches()) {
            throw new IllegalArgumentException("bad job id '" + jobId + "': letters, digits, '.', '_' and '-' only");
        }
        return root + "/" + jobId;
    }
}
