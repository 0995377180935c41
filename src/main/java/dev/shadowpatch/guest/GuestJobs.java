package dev.shadowpatch.guest;

/**
 * Long commands in a guest (a patch, a test, a verification) run detached from the SSH connection
 * that started them and are polled, so no step of the process holds a job lock while they run, and a
 * step retried or taken over by another node never runs a command twice.
 *
 * <p>Contract, per method: {@link #start} is idempotent per job id (a second start of the same id
 * does nothing and says so); {@link #poll} and {@link #stop} only read or end that job.
 */
public interface GuestJobs {

    /** @return true when this call started the job, false when a job of that id was started before */
    boolean start(GuestTarget target, String jobId, String command);

    /** The job as it is now: not started, running, or finished with an exit code; its output (the end, bounded). */
    JobStatus poll(GuestTarget target, String jobId);

    /** Ends a running job with its whole process group (TERM, then KILL); returns what it had written. */
    JobStatus stop(GuestTarget target, String jobId);

    enum State { NOT_STARTED, RUNNING, FINISHED, LOST }

    /**
     * @param exitCode    the command's exit code when FINISHED; -1 otherwise
     * @param output      stdout and stderr as written, interleaved; its last {@link #MAX_OUTPUT} bytes
     * @param outputBytes how much it wrote in all
     */
    record JobStatus(State state, int exitCode, String output, long outputBytes) {
        public static final int MAX_OUTPUT = 1 << 20;

        public boolean finished() {
            return state == State.FINISHED || state == State.LOST;
        }
    }
}
