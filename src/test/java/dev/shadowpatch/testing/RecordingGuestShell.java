package dev.shadowpatch.testing;

import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.guest.GuestShell;
import dev.shadowpatch.guest.GuestTarget;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Test double of {@link GuestShell}: every command exits 0 with output {@code ok} and is recorded.
 * {@link #hangOn(String)} makes one command hang like a guest that never answers (a node stuck
 * in a step): the call blocks, ignoring interrupts, until {@link #release()}, and then fails, so the
 * step it belongs to never completes on this node.
 */
public class RecordingGuestShell implements GuestShell {
    private final String node;
    private final CapabilityLog log;
    private volatile String hangOn;
    private final CountDownLatch hanging = new CountDownLatch(1);
    private final CountDownLatch released = new CountDownLatch(1);

    public RecordingGuestShell(String node, CapabilityLog log) {
        this.node = node;
        this.log = log;
    }

    /** The next run of this command blocks until {@link #release()}. */
    public RecordingGuestShell hangOn(String command) {
        this.hangOn = command;
        return this;
    }

    /** Waits until a call hangs in the command given to {@link #hangOn(String)}. */
    public boolean awaitHanging(Duration timeout) throws InterruptedException {
        return hanging.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    public void release() {
        released.countDown();
    }

    @Override
    public CommandResult run(GuestTarget target, String command, Duration timeout) {
        if (command.equals(hangOn)) {
            hangOn = null;
            log.record(node, "guest.run(hanging)", target.host() + " " + command);
            hanging.countDown();
            awaitUninterruptibly(released);
            throw new IllegalStateException("Test double: the guest never answered on " + node);
        }
        log.record(node, "guest.run", target.host() + " " + command);
        return new CommandResult(command, 0, "ok\n", "", Duration.ofMillis(5));
    }

    @Override
    public void upload(GuestTarget target, Path localFile, String remotePath) {
        log.record(node, "guest.upload", target.host() + " " + remotePath);
    }

    @Override
    public void download(GuestTarget target, String remotePath, Path localFile) {
        log.record(node, "guest.download", target.host() + " " + remotePath);
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        boolean interrupted = false;
        while (true) {
            try {
                latch.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // a stopped node's worker thread: keep hanging like a dead guest
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
