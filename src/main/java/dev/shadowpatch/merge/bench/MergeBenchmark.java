package dev.shadowpatch.merge.bench;

import dev.shadowpatch.merge.Journal;
import dev.shadowpatch.merge.MergeEngine;
import dev.shadowpatch.merge.MergePlan;
import dev.shadowpatch.merge.MergePolicy;
import dev.shadowpatch.merge.MergeReport;
import dev.shadowpatch.merge.MergeTrees;
import dev.shadowpatch.merge.Op;
import dev.shadowpatch.merge.RelPath;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.Arrays;

/**
 * Merge benchmark (a program, not a test; needs root for overlay mounts). For each case it builds
 * base, live and shadow trees (live and shadow are overlayfs mounts on base, as qcow2 overlays on a
 * common backing file), then times detect (full scan; and limited by a change log), plan and
 * execute, next to {@code rsync -aHAX --files-from} of the same changed paths into an identical
 * copy of the live tree. Prints a Markdown table.
 * <pre>
 * ops/merge-benchmark [--files 10000,100000] [--changed 1000,10000] [--realpkg] [--repeat N] [--work DIR]
 * </pre>
 * With --repeat N every case is run N times on fresh trees and each column shows its minimum
 * (the machine may be shared).
 * <pre>
 * </pre>
 */
public final class MergeBenchmark {
    record Row(String name, long files, long changed, double detectFull, double detectLog, double plan,
               double execute, double sync, double rsync, long bytes, long scannedLog) {}

    public static void main(String[] args) throws Exception {
        List<Long> sizes = List.of(10_000L, 100_000L);
        List<Long> changes = List.of(1_000L, 10_000L);
        boolean realpkg = false;
        int repeat = 1;
        Path work = Path.of("/var/tmp/sp-bench");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--files" -> sizes = parse(args[++i]);
                case "--changed" -> changes = parse(args[++i]);
                case "--realpkg" -> realpkg = true;
                case "--work" -> work = Path.of(args[++i]);
                case "--repeat" -> repeat = Integer.parseInt(args[++i]);
                default -> { System.err.println("usage: merge-benchmark [--files N,..] [--changed N,..] [--realpkg] [--repeat N] [--work DIR]"); System.exit(2); }
            }
        }
        sh("mkdir -p '" + work + "'");
        List<Row> rows = new ArrayList<>();
        // warm-up (JIT, JNA binding, page cache of the tool itself): a small case, not reported
        Path warm = work.resolve("base-2000");
        if (!Files.exists(warm.resolve(".complete"))) makeBase(warm, 2000);
        synthetic(work, warm, 2000, 200);
        for (long n : sizes) {
            Path baseDir = work.resolve("base-" + n);
            if (!Files.exists(baseDir.resolve(".complete"))) makeBase(baseDir, n);
            for (long c : changes) {
                if (c > n / 2) continue;
                Row best = null;
                for (int k = 0; k < repeat; k++) best = min(best, synthetic(work, baseDir, n, c));
                rows.add(best);
                System.err.println(format(rows.get(rows.size() - 1)));
            }
        }
        if (realpkg) {
            Row best = null;
            for (int k = 0; k < repeat; k++) best = min(best, realPackage(work));
            rows.add(best);
        }
        System.out.println();
        System.out.println("| case | files in tree | changed paths | detect, full scan (s) | detect, change log (s) | plan (s) | execute (s) | sync (s) | merge total with log (s) | rsync -aHAX --files-from (s) | bytes copied |");
        System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (Row r : rows) System.out.println(format(r));
    }

    /** Column-wise minimum over repeated runs (each run on freshly made trees). */
    static Row min(Row a, Row b) {
        if (a == null) return b;
        return new Row(a.name, a.files, a.changed, Math.min(a.detectFull, b.detectFull), Math.min(a.detectLog, b.detectLog),
                Math.min(a.plan, b.plan), Math.min(a.execute, b.execute), Math.min(a.sync, b.sync), Math.min(a.rsync, b.rsync),
                a.bytes, a.scannedLog);
    }

    static String format(Row r) {
        return String.format("| %s | %d | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %d |", r.name, r.files, r.changed,
                r.detectFull, r.detectLog, r.plan, r.execute, r.sync, r.detectLog + r.plan + r.execute, r.rsync, r.bytes);
    }

    static List<Long> parse(String s) {
        List<Long> out = new ArrayList<>();
        for (String x : s.split(",")) out.add(Long.parseLong(x.strip()));
        return out;
    }

    static String rel(long i) {
        return String.format("d%03d/e%03d/f%07d", i / 10_000 % 1000, i / 100 % 100, i);
    }

    static void makeBase(Path dir, long n) throws IOException {
        System.err.println("building base tree of " + n + " files in " + dir);
        sh("rm -rf '" + dir + "' && mkdir -p '" + dir + "'");
        Random rnd = new Random(n);
        byte[] buf = new byte[16384];
        for (long i = 0; i < n; i++) {
            Path p = dir.resolve(rel(i));
            if (i % 100 == 0) Files.createDirectories(p.getParent());
            int size = 512 + rnd.nextInt(8192);
            rnd.nextBytes(buf);
            try (OutputStream o = Files.newOutputStream(p)) { o.write(buf, 0, size); }
        }
        Files.createFile(dir.resolve(".complete"));
    }

    static Row synthetic(Path work, Path baseDir, long n, long c) throws Exception {
        Path w = work.resolve("case-" + n + "-" + c);
        teardown(w);
        for (String d : List.of("live", "shadow", "rlive")) overlay(baseDir, w, d);
        Random rnd = new Random(c);
        byte[] buf = new byte[16384];
        StringBuilder log = new StringBuilder();
        long step = n / c;
        for (long k = 0; k < c; k++) {
            long i = k * step;
            String r = rel(i);
            Path p = w.resolve("shadow").resolve(r);
            if (k % 10 == 0) { Files.delete(p); log.append("DELETE /").append(r).append('\n'); }
            else if (k % 10 == 1) {
                Path q = w.resolve("shadow").resolve(r + ".new");
                rnd.nextBytes(buf);
                Files.write(q, Arrays.copyOf(buf, 4096));
                log.append("CREATE /").append(r).append(".new\n");
            } else {
                rnd.nextBytes(buf);
                Files.write(p, Arrays.copyOf(buf, 1024 + rnd.nextInt(8192)));
                log.append("MODIFY /").append(r).append('\n');
            }
        }
        // the live VM kept working: other files changed there (identical in live and in rsync's copy)
        for (long k = 0; k < Math.max(1, c / 10); k++) {
            String r = rel(k * step + step / 2);
            for (String d : List.of("live", "rlive")) Files.writeString(w.resolve(d).resolve(r), "live data " + k);
        }
        Files.writeString(w.resolve("changes.log"), log.toString());
        Row row = measure("synthetic", w, baseDir, n);
        teardown(w);
        return row;
    }

    static Row realPackage(Path work) throws Exception {
        Path w = work.resolve("realpkg");
        Path bed = Path.of(System.getProperty("shadowpatch.home", ".")).resolve("ops/testbed/realpkg-bed.sh");
        sh("'" + bed + "' teardown '" + w + "' || true");
        sh("'" + bed + "' setup '" + w + "' >&2");
        // an identical copy of the live tree for rsync: a third overlay with a copy of live's upper layer
        sh("cd '" + w + "' && cp -a live.up rlive.up && mkdir -p rlive rlive.wk && mount -t overlay overlay -o lowerdir=base,upperdir=rlive.up,workdir=rlive.wk rlive");
        long files = Long.parseLong(sh("find '" + w + "/base' -xdev | wc -l").strip());
        Row r = measure("real package (openssl+libssl3 bookworm-security)", w, w.resolve("base"), files);
        sh("umount '" + w + "/rlive' && '" + bed + "' teardown '" + w + "'");
        return r;
    }

    static Row measure(String name, Path w, Path baseDir, long files) throws Exception {
        MergeTrees trees = new MergeTrees(baseDir, w.resolve("live"), w.resolve("shadow"));
        MergePolicy policy = MergePolicy.of("** take-shadow", "benchmark");
        MergePlan full = new MergeEngine(policy).plan(trees, Optional.empty());
        MergePlan withLog = new MergeEngine(policy.withVerifyChangeLog(false)).plan(trees, Optional.of(w.resolve("changes.log")));
        if (!full.ruleCounts().equals(withLog.ruleCounts()))
            throw new IllegalStateException("log-limited plan differs from full-scan plan: " + full.ruleCounts() + " vs " + withLog.ruleCounts());
        // the same changed paths for rsync, NUL-separated raw bytes
        ByteArrayOutputStream list = new ByteArrayOutputStream();
        long changed = 0;
        for (Op o : withLog.ops()) {
            if (o.action() == Op.Action.NONE) continue;
            changed++;
            boolean first = true;
            for (String comp : RelPath.split(o.path())) {
                if (!first) list.write('/');
                list.writeBytes(RelPath.decodeComponent(comp));
                first = false;
            }
            list.write(0);
        }
        Files.write(w.resolve("files-from"), list.toByteArray());
        // warm the page cache for both contenders equally
        sh("cd '" + w + "/shadow' && xargs -0 -a ../files-from cat -- 2>/dev/null > /dev/null || true");
        long t0 = System.nanoTime();
        sh("rsync -aHAX --from0 --files-from='" + w + "/files-from' --delete-missing-args '" + w + "/shadow/' '" + w + "/rlive/'");
        double rsync = (System.nanoTime() - t0) / 1e9;
        // journaled, as ops/shadowpatch merge and the window's merge execute
        MergeReport rep = new MergeEngine(policy).execute(withLog, trees, Journal.at(w.resolve("merge-journal"), trees));
        if (!rep.complete()) throw new IllegalStateException("merge incomplete: " + rep.left());
        String diff = sh("rsync -rlpgoDHAXc -n -i --delete --numeric-ids '" + w + "/rlive/' '" + w + "/live/' | head -5");
        if (!diff.isBlank()) System.err.println("WARNING: merged tree differs from rsync's result:\n" + diff);
        return new Row(name, files, changed, full.detect().detectMillis() / 1e3, withLog.detect().detectMillis() / 1e3,
                withLog.detect().planMillis() / 1e3, rep.stageTimes().get("execute").toNanos() / 1e9,
                rep.stageTimes().get("sync").toNanos() / 1e9, rsync, rep.bytesCopied(), withLog.detect().pathsScanned());
    }

    static void overlay(Path base, Path w, String name) {
        sh("mkdir -p '" + w + "/" + name + "' '" + w + "/" + name + ".up' '" + w + "/" + name + ".wk' && mount -t overlay overlay -o lowerdir='"
                + base + "',upperdir='" + w + "/" + name + ".up',workdir='" + w + "/" + name + ".wk' '" + w + "/" + name + "'");
    }

    static void teardown(Path w) {
        sh("for m in live shadow rlive; do mountpoint -q '" + w + "'/$m && umount '" + w + "'/$m; done; rm -rf --one-file-system '" + w + "'");
    }

    static String sh(String script) {
        try {
            Process p = new ProcessBuilder("bash", "-euo", "pipefail", "-c", script).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(3600, TimeUnit.SECONDS) || p.exitValue() != 0) throw new IllegalStateException("failed: " + script);
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
