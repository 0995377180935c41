package dev.shadowpatch.workflow;

import dev.shadowpatch.guest.GuestShell;
import dev.shadowpatch.guest.GuestTarget;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

/**
 * A directory of patch files prepared on the host (ops/patch-bundle: .deb files, an index and
 * apply.sh) for a shadow VM that cannot reach a mirror from its isolated network. Only directories
 * under the configured bundle root may be sent, and only their regular files (no links followed).
 */
public final class PatchBundle {
    /** Where a bundle lands in the guest; the patch command runs {@code /var/cache/sp-patch-bundle/apply.sh}. */
    public static final String GUEST_DIR = "/var/cache/sp-patch-bundle";

    private PatchBundle() {}

    public static Path resolve(Path root, String requested) {
        Path base = root.toAbsolutePath().normalize();
        Path dir = base.resolve(requested).normalize();
        if (!dir.startsWith(base)) {
            throw new IllegalArgumentException("Patch bundle '" + requested + "' is outside the bundle root " + root
                    + " (shadowpatch.run.bundle-root)");
        }
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException("Patch bundle " + dir + " is not a directory; build one with ops/patch-bundle");
        }
        return dir;
    }

    public static void upload(GuestShell guest, GuestTarget target, Path dir) {
        List<Path> files;
        try (Stream<Path> entries = Files.list(dir)) {
            files = entries.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list the patch bundle " + dir, e);
        }
        var made = guest.run(target, "rm -rf " + GUEST_DIR + " && mkdir -p " + GUEST_DIR, Duration.ofMinutes(1));
        if (!made.succeeded()) {
            throw new IllegalStateException("Cannot create " + GUEST_DIR + " in " + target.host() + ": " + made.stderr());
        }
        for (Path file : files) {
            guest.upload(target, file, GUEST_DIR + "/" + file.getFileName());
        }
    }
}
