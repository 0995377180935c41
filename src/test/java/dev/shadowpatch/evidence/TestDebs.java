package dev.shadowpatch.evidence;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Real package archives for the guest-side tests, built with this host's dpkg-deb from a tree in a temporary directory. */
final class TestDebs {
    private final Path work;

    TestDebs(Path work) {
        this.work = work;
        assumeTrue(run("command -v dpkg-deb tar zcat >/dev/null"), "needs dpkg-deb, tar and zcat");
    }

    /** A package's tree: {@code DEBIAN/control} written, its files added by the caller. */
    final class Deb {
        final Path root;
        final String name, version, architecture;

        private Deb(String name, String version, String architecture) throws IOException {
            this.name = name;
            this.version = version;
            this.architecture = architecture;
            root = Files.createDirectories(work.resolve("tree-" + name + "-" + version.replace(':', '_')));
            Files.createDirectories(root.resolve("DEBIAN"));
            Files.writeString(root.resolve("DEBIAN/control"), "Package: " + name + "\nVersion: " + version + "\nArchitecture: "
                    + architecture + "\nMaintainer: Test <test@example.org>\nDescription: test package\n");
        }

        /** A gzip file in its tree, as a changelog is shipped. */
        Deb gzip(String path, String text) throws IOException {
            Path file = root.resolve(path);
            Files.createDirectories(file.getParent());
            try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
                out.write(text.getBytes(StandardCharsets.UTF_8));
            }
            return this;
        }

        /** Its doc directory a symlink to another package's, as Debian's --link-doc makes it. */
        Deb docLinkedTo(String other) throws IOException {
            Files.createDirectories(root.resolve("usr/share/doc"));
            Files.createSymbolicLink(root.resolve("usr/share/doc/" + name), Path.of(other));
            return this;
        }

        /** The archive in {@code dir}, named as apt names it: {@code name_version_arch.deb}, the epoch's ':' as %3a. */
        Path buildInto(Path dir) throws IOException {
            return buildInto(dir, name + "_" + version.replace(":", "%3a") + "_" + architecture + ".deb");
        }

        Path buildInto(Path dir, String fileName) throws IOException {
            Files.createDirectories(dir);
            Path deb = dir.resolve(fileName);
            if (!run("dpkg-deb --root-owner-group -Zgzip --build '" + root + "' '" + deb + "' >/dev/null")) {
                throw new IllegalStateException("dpkg-deb could not build " + deb);
            }
            return deb;
        }
    }

    Deb deb(String name, String version, String architecture) throws IOException {
        return new Deb(name, version, architecture);
    }

    private static boolean run(String script) {
        try {
            Process p = new ProcessBuilder("sh", "-c", script).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
