package dev.shadowpatch.merge;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Test helper: runs bash scripts and returns stdout; fails loudly on a non-zero exit. */
final class Sh {
    private Sh() {}

    static String run(String script) {
        return run(null, script, 600);
    }

    static String run(Path cwd, String script, int timeoutSeconds) {
        try {
            ProcessBuilder pb = new ProcessBuilder("bash", "-euo", "pipefail", "-c", script).redirectErrorStream(false);
            if (cwd != null) pb.directory(cwd.toFile());
            Process p = pb.start();
            var out = new java.io.ByteArrayOutputStream();
            var err = new java.io.ByteArrayOutputStream();
            Thread te = new Thread(() -> { try { p.getErrorStream().transferTo(err); } catch (IOException ignored) { } });
            te.start();
            p.getInputStream().transferTo(out);
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) { p.destroyForcibly(); throw new AssertionError("timeout: " + script); }
            te.join();
            if (p.exitValue() != 0)
                throw new AssertionError("exit " + p.exitValue() + " from:\n" + script + "\nstderr:\n" + err.toString(StandardCharsets.UTF_8)
                        + "\nstdout:\n" + out.toString(StandardCharsets.UTF_8));
            return out.toString(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** The three trees of a merge: base from its script, live and shadow as copies of it, each then changed by its script. */
    static void forkTrees(MergeTrees t, String baseScript, String liveScript, String shadowScript) {
        run("mkdir -p '" + t.base() + "' && cd '" + t.base() + "' && " + baseScript);
        run("cp -a '" + t.base() + "' '" + t.live() + "' && cp -a '" + t.base() + "' '" + t.shadow() + "'");
        run("cd '" + t.live() + "' && " + liveScript);
        run("cd '" + t.shadow() + "' && " + shadowScript);
    }

    /**
     * Differences between two trees in content, type, mode, owner, xattrs, ACLs, link targets and
     * hard-link structure (rsync itemize, dry run, checksums; times are not compared).
     * Returns rsync's itemized lines (empty when equal).
     */
    static String diff(Path expected, Path actual, String... excludes) {
        StringBuilder ex = new StringBuilder();
        for (String e : excludes) ex.append(" --exclude='").append(e).append("'");
        return run("rsync -rlpgoDHAXc -n -i --delete --numeric-ids" + ex + " '" + expected + "/' '" + actual + "/'");
    }
}
