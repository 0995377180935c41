package dev.shadowpatch.guest;

import dev.shadowpatch.guest.GuestJobs.JobStatus;
import dev.shadowpatch.guest.GuestJobs.State;
import dev.shadowpatch.testing.LocalShell;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The detached-job scripts for real, in this host's own shell (the guest side is plain POSIX sh):
 * started once per id whatever the retries, surviving the connection that started them, polled,
 * stopped with their children.
 */
class DetachedGuestJobsTest {
    static final GuestTarget HERE = GuestTarget.direct("localhost", "root");

    @TempDir Path tmp;

    GuestJobs jobs() {
        return new DetachedGuestJobs(new LocalShell(), tmp.resolve("jobs").toString());
    }

    @Test
    void aJobRunsOnceWhateverTheRetriesAndReportsItsExitCodeAndOutput() throws Exception {
        GuestJobs jobs = jobs();
        Path runs = tmp.resolve("runs");
        String command = "echo run >> " + runs + "; echo 'quotes \" and $HOME stay as written'; echo \"home=$HOME\"; echo oops >&2; exit 3";
        assertThat(jobs.start(HERE, "run1-patch", command)).isTrue();
        assertThat(jobs.start(HERE, "run1-patch", command)).as("a retried start").isFalse();
        await().atMost(Duration.ofSeconds(20)).until(() -> jobs.poll(HERE, "run1-patch").finished());

        JobStatus done = jobs.poll(HERE, "run1-patch");
        assertThat(done.state()).isEqualTo(State.FINISHED);
        assertThat(done.exitCode()).isEqualTo(3);
        assertThat(done.output()).contains("quotes \" and $HOME stay as written").contains("home=" + System.getenv("HOME"))
                .contains("oops");
        assertThat(Files.readAllLines(runs)).containsExactly("run");
        assertThat(jobs.start(HERE, "run1-patch", command)).as("a start after it ended").isFalse();
        assertThat(Files.readAllLines(runs)).containsExactly("run");
    }

    @Test
    void aLongJobKeepsRunningAfterTheCallThatStartedItReturnedAndCanBeStopped() throws Exception {
        GuestJobs jobs = jobs();
        Path child = tmp.resolve("child.pid");
        jobs.start(HERE, "run2-test-1", "echo begun; sleep 600 & echo $! > " + child + "; wait");
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(child) && !Files.readString(child).isBlank());
        JobStatus running = jobs.poll(HERE, "run2-test-1");
        assertThat(running.state()).isEqualTo(State.RUNNING);
        assertThat(running.output()).contains("begun");

        JobStatus stopped = jobs.stop(HERE, "run2-test-1");
        assertThat(stopped.finished()).isTrue();
        assertThat(stopped.output()).as("the output so far").contains("begun");
        long pid = Long.parseLong(Files.readString(child).strip());
        await().atMost(Duration.ofSeconds(10)).until(() -> ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true));
    }

    @Test
    void anUnknownJobIsNotStartedAndABadIdIsRefused() {
        GuestJobs jobs = jobs();
        assertThat(jobs.poll(HERE, "never-started").state()).isEqualTo(State.NOT_STARTED);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> jobs.start(HERE, "../etc", "true"))
                .hasMessageContaining("bad job id");
    }
}
