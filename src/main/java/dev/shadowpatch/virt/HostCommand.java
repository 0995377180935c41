package dev.shadowpatch.virt;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs a host program (qemu-img, virsh, qemu-storage-daemon, mount, ...) with an argument vector
 * (never through a shell), a deadline, and captured output.
 */
public final class HostCommand {

    public record Result(List<String> argv, int exitCode, String stdout, String stderr) {
        public boolean ok() {
            return exitCode == 0;
        }

        /** Throws with the command, exit code and stderr when the command failed. */
        public Result orThrow(String what) {
            if (!ok()) {
                throw new HostCommandException(what + ": `" + String.join(" ", argv) + "` exited " + exitCode
                        + (stderr.isBlank() ? "" : ": " + stderr.strip()));
            }
            return this;
        }
    }

    public static class HostCommandException extends RuntimeException {
        public HostCommandException(String message) {
            super(message);
        }
    }

    private HostCommand() {
    }

    public static Result run(Duration timeout, String... argv) {
        return run(timeout, List.of(argv));
    }

    public static Result run(Duration timeout, List<String> argv) {
        Process p;
        try {
            p = new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        } catch (IOException e) {
            throw new HostCommandException("cannot start `" + String.join(" ", argv) + "`: " + e.getMessage()
                    + " (is the package installed? see ops/host-setup)");
        }
        CompletableFuture<String> out = drain(p.getInputStream());
        CompletableFuture<String> err = drain(p.getErrorStream());
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                throw new HostCommandException("`" + String.join(" ", argv) + "` did not finish within " + timeout.toSeconds() + " s");
            }
            return new Result(List.copyOf(argv), p.exitValue(), out.join(), err.join());
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new HostCommandException("interrupted while running `" + String.join(" ", argv) + "`");
        }
    }

    private static CompletableFuture<String> drain(InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            try (in) {
                ByteArrayOutputStream buf = new ByteArrayOutputStream();
                byte[] b = new byte[8192];
                int n;
                while ((n = in.read(b)) >= 0) {
                    if (buf.size() < 4 << 20) {
                        buf.write(b, 0, n);
                    }
                }
                return buf.toString(StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }
}
