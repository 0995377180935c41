package dev.shadowpatch.testing;

import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.guest.GuestException;
import dev.shadowpatch.guest.GuestShell;
import dev.shadowpatch.guest.GuestTarget;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A {@link GuestShell} that runs the command in a local sh, as sshd's exec would in the guest: the
 * guest-side scripts tested for real on this host. Output is read after the command ends (keep it small).
 */
public final class LocalShell implements GuestShell {
    @Override
    public CommandResult run(GuestTarget target, String command, Duration timeout) {
        try {
            long t0 = System.nanoTime();
            Process p = new ProcessBuilder("sh", "-c", command).start();
            p.getOutputStream().close();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new GuestException("timed out: " + command);
            }
            return new CommandResult(command, p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                    new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8), Duration.ofNanos(System.nanoTime() - t0));
        } catch (IOException e) {
            throw new GuestException(e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GuestException("interrupted", e);
        }
    }

    @Override
    public void upload(GuestTarget target, Path localFile, String remotePath) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void download(GuestTarget target, String remotePath, Path localFile) {
        throw new UnsupportedOperationException();
    }
}
