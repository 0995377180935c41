package dev.shadowpatch.merge;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Hostile guest trees: nothing outside the live tree may change, and nothing may hang.
 * "outside" stands for the host: every test fingerprints it before and after.
 */
@Timeout(60)
class HostileTreeTest {
    @TempDir Path tmp;
    Path base, live, shadow, outside;
    MergeTrees trees;
    String before;
    final MergeEngine takeShadow = new MergeEngine(MergePolicy.of("** take-shadow", "test"));

    @BeforeEach
    void setUp() {
        base = tmp.resolve("base"); live = tmp.resolve("live"); shadow = tmp.resolve("shadow"); outside = tmp.resolve("outside");
        trees = new MergeTrees(base, live, shadow);
        Sh.run("mkdir -p '" + outside + "/sub' && echo host-secret > '" + outside + "/victim' && echo x > '" + outside + "/sub/file' && chmod 600 '" + outside + "/victim'");
        before = fingerprint();
    }

    String fingerprint() {
        return Sh.run("cd '" + outside + "' && find . -printf '%p %y %m %U:%G %s %T@ %i %l\\n' | sort && find . -type f -exec sha256sum {} + | sort && getfattr -R -d -m - . 2>/dev/null || true");
    }

    void assertOutsideUntouched() {
        assertEquals(before, fingerprint(), "something outside the live tree changed");
    }

    void build(String baseScript, String liveScript, String shadowScript) {
        String env = "export OUT='" + outside + "'; ";
        Sh.run(env + "mkdir -p '" + base + "' && cd '" + base + "' && " + baseScript);
        Sh.run("cp -a '" + base + "' '" + live + "' && cp -a '" + base + "' '" + shadow + "'");
        Sh.run(env + "cd '" + live + "' && " + liveScript);
        Sh.run(env + "cd '" + shadow + "' && " + shadowScript);
    }

    MergeReport mergeAll(MergeEngine engine) throws Exception {
        MergePlan plan = engine.plan(trees, Optional.empty());
        return engine.execute(plan, trees);
    }

    @Test
    void liveDirectoryReplacedByAbsoluteSymlinkToHost() throws Exception {
        build("mkdir -p opt/app && echo c > opt/app/config",
                "rm -r opt/app && ln -s \"$OUT\" opt/app",
                "echo changed > opt/app/config && echo new > opt/app/victim && mkdir opt/app/sub2 && echo n > opt/app/sub2/f");
        // writes through the live symlink are conflicts at plan time whose only choice is keep-live
        MergePlan plan = takeShadow.plan(trees, Optional.empty());
        assertEquals(java.util.List.of("opt/app/config", "opt/app/sub2", "opt/app/victim"),
                plan.unresolvedConflicts().stream().map(Conflict::path).toList());
        for (Conflict c : plan.unresolvedConflicts()) {
            assertEquals(ConflictKind.LIVE_PARENT_NOT_DIRECTORY, c.kind());
            assertEquals(java.util.List.of(Decision.KEEP_LIVE), c.choices());
        }
        assertEquals(Rule.TAKE_SHADOW_CREATE, plan.op("opt/app/sub2/f").rule(), "decided with the conflict on its parent");
        assertThrows(MergeConflictException.class, () -> takeShadow.execute(plan, trees));
        assertThrows(IllegalArgumentException.class, () -> plan.withResolution("opt/app/victim", Decision.TAKE_SHADOW));
        MergePlan kept = plan;
        for (Conflict c : plan.unresolvedConflicts()) kept = kept.withResolution(c.path(), Decision.KEEP_LIVE);
        assertEquals(Rule.UNDER_KEPT_LIVE, kept.op("opt/app/sub2/f").rule());
        assertTrue(takeShadow.execute(kept, trees).complete());
        assertOutsideUntouched();
        assertTrue(Files.isSymbolicLink(live.resolve("opt/app")));
    }

    @Test
    void dotDotSymlinksInShadowAreCopiedAsLinksNeverFollowed() throws Exception {
        build("mkdir -p etc usr/share/doc && echo a > etc/conf && echo d > usr/share/doc/readme",
                "true",
                "ln -s ../../../../../../../../..\"$OUT\"/victim etc/evil && echo b > etc/conf && "
                        + "rm -r usr/share/doc && ln -s ../../../../../../../..\"$OUT\" usr/share/doc && ln -s /etc/shadow etc/abs");
        MergeReport r = mergeAll(takeShadow);
        assertTrue(r.complete(), r.left().toString());
        assertTrue(Files.isSymbolicLink(live.resolve("etc/evil")));
        assertTrue(Files.isSymbolicLink(live.resolve("usr/share/doc")));
        assertEquals("", Sh.diff(shadow, live));
        assertOutsideUntouched();
    }

    @Test
    void liveFileReplacedBySymlinkToHostFile() throws Exception {
        build("mkdir etc && echo root:x:0:0 > etc/passwd", "rm etc/passwd && ln -s \"$OUT\"/victim etc/passwd", "echo root:x:0:0:new > etc/passwd");
        MergeReport r = mergeAll(takeShadow);
        assertTrue(r.complete(), r.left().toString());
        assertFalse(Files.isSymbolicLink(live.resolve("etc/passwd")));
        assertEquals("root:x:0:0:new\n", Files.readString(live.resolve("etc/passwd")));
        assertOutsideUntouched();
    }

    @Test
    void liveDirectorySwappedForSymlinkWhileShadowWritesIntoIt() throws Exception {
        build("for d in $(seq 1 40); do mkdir -p srv/d$d; done", "true",
                "for d in $(seq 1 40); do for i in $(seq 1 50); do echo $i > srv/d$d/f$i; done; done");
        MergePlan plan = takeShadow.plan(trees, Optional.empty());
        assertEquals(2000, plan.size());
        AtomicBoolean stop = new AtomicBoolean();
        Thread attacker = new Thread(() -> {
            int k = 0;
            while (!stop.get()) {
                Path data = live.resolve("srv/d" + (1 + k++ % 40)), moved = live.resolve("srv/moved");
                try {
                    Files.move(data, moved);
                    Files.createSymbolicLink(data, outside);
                    Thread.sleep(0, 200_000);
                    Files.delete(data);
                    Files.move(moved, data);
                } catch (Exception ignored) {
                    // keep swapping
                }
            }
        });
        attacker.start();
        MergeReport r;
        try {
            r = takeShadow.execute(plan, trees);
        } finally {
            stop.set(true);
            attacker.join();
        }
        System.out.println("swap race: " + r.left().size() + " operations refused while their directory was a symlink");
        assertOutsideUntouched();
        long inLive = Long.parseLong(Sh.run("find '" + live + "' -name 'f*' -type f | wc -l").strip());
        assertEquals(2000, inLive + r.left().size(), "every file is in the live tree or reported as left");
    }

    @Test
    void liveDirectoryReplacedBySymlinkBetweenPlanAndExecute() throws Exception {
        build("mkdir -p srv/data", "true", "for i in $(seq 1 100); do echo $i > srv/data/f$i; done && mkdir srv/data/sub && echo s > srv/data/sub/x");
        MergePlan plan = takeShadow.plan(trees, Optional.empty());
        Sh.run("cd '" + live + "/srv' && mv data data.real && ln -s '" + outside + "' data");
        MergeReport r = takeShadow.execute(plan, trees);
        assertEquals(102, r.left().size(), r.left().toString());
        assertOutsideUntouched();
        assertEquals("", Sh.run("ls -A '" + live + "/srv/data.real'"));
    }

    @Test
    void fifosAreNeverOpened() throws Exception {
        build("mkdir -p opt etc && echo a > opt/f && echo b > opt/g && echo c > etc/h.conf && echo d > opt/k",
                "rm opt/f && mkfifo opt/f && rm etc/h.conf && mkfifo etc/h.conf",
                "echo a2 > opt/f && rm opt/g && mkfifo -m 0604 opt/g && echo c2 > etc/h.conf && mkfifo opt/newfifo && echo d2 > opt/k");
        MergePlan plan = new MergeEngine(MergePolicy.of("/opt/** take-shadow", "t")).plan(trees, Optional.empty());
        // etc/h.conf: three-way between a FIFO and a file is impossible: asked, never read
        assertEquals(java.util.List.of("etc/h.conf"), plan.unresolvedConflicts().stream().map(Conflict::path).toList());
        plan = plan.withResolution("etc/h.conf", Decision.KEEP_LIVE);
        // after the plan, the shadow's regular file is swapped for a FIFO: refused, not opened
        Sh.run("cd '" + shadow + "' && rm opt/k && mkfifo opt/k");
        MergeReport r = new MergeEngine(MergePolicy.defaults()).execute(plan, trees);
        assertEquals(java.util.Set.of("opt/k"), r.left().keySet());
        assertEquals("a2\n", Files.readString(live.resolve("opt/f")));
        assertEquals("fifo 604", Sh.run("stat -c '%F %a' '" + live + "/opt/g'").strip());
        assertEquals("fifo", Sh.run("stat -c '%F' '" + live + "/opt/newfifo'").strip());
        assertOutsideUntouched();
    }

    @Test
    void deviceNodesAreRecreatedNeverOpened() throws Exception {
        build("mkdir -p opt && mknod opt/disk b 8 0 && echo t > opt/tty",
                "rm opt/tty && mknod opt/tty c 5 0",
                "rm opt/disk && mknod opt/disk b 8 16 && echo t2 > opt/tty && mknod -m 0660 opt/zero c 1 5 && chown 0:6 opt/zero");
        MergeReport r = mergeAll(takeShadow);
        assertTrue(r.complete(), r.left().toString());
        assertEquals("", Sh.diff(shadow, live));
        assertEquals("block special file 8 10", Sh.run("stat -c '%F %t %T' '" + live + "/opt/disk'").strip());
        assertOutsideUntouched();
    }

    @Test
    void twoHundredDeepNesting() throws Exception {
        String deep = "d/".repeat(200);
        String deepE = "e/".repeat(200);
        build("mkdir -p " + deep + " && echo 1 > " + deep + "f", "echo live > " + deep + "livefile",
                "echo 2 > " + deep + "f && mkdir -p " + deepE + " && echo g > " + deepE + "g");
        MergeReport r = mergeAll(takeShadow);
        assertTrue(r.complete(), r.left().toString());
        assertEquals("2\n", Files.readString(live.resolve(deep + "f")));
        assertEquals("live\n", Files.readString(live.resolve(deep + "livefile")));
        assertEquals("g\n", Files.readString(live.resolve(deepE + "g")));
        assertOutsideUntouched();
    }

    @Test
    void malformedChangeLogIsReportedAndNeverWidensTheMerge() throws Exception {
        build("mkdir -p etc usr && echo a > etc/a && echo u > usr/u", "true", "echo a2 > etc/a && echo u2 > usr/u && echo n > usr/new");
        Path log = tmp.resolve("changes.log");
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        b.writeBytes("MODIFY /etc/a\n".getBytes());
        b.writeBytes("garbage without a path\n".getBytes());
        b.writeBytes("MODIFY relative/path\n".getBytes());
        b.writeBytes("MODIFY /../../outside/victim\n".getBytes());
        b.writeBytes("MODIFY /etc/\0nul\n".getBytes());
        b.writeBytes(("MODIFY /" + "x".repeat(20000) + "\n").getBytes());
        b.writeBytes(new byte[]{(byte) 0xff, (byte) 0xfe, 0x01, '\n'});
        b.writeBytes("lower case events /etc/a\n".getBytes());
        b.writeBytes("MODIFY /proc/1/mem\n".getBytes());
        b.writeBytes("DELETE /never/existed\n".getBytes());
        b.writeBytes("CREATE,ISDIR /".getBytes());
        Files.write(log, b.toByteArray());
        MergeEngine engine = new MergeEngine(MergePolicy.defaults());
        MergePlan plan = engine.plan(trees, Optional.of(log));
        assertEquals(8, plan.detect().logMalformed().size(), plan.detect().logMalformed().toString());
        assertEquals(java.util.List.of("usr/new", "usr/u"), plan.detect().logMissed());
        assertEquals(engine.plan(trees, Optional.empty()).ruleCounts(), plan.ruleCounts());
        MergePlan trusted = new MergeEngine(MergePolicy.defaults().withVerifyChangeLog(false)).plan(trees, Optional.of(log));
        assertEquals(java.util.List.of("etc/a"), trusted.ops().stream().map(Op::path).toList());
        assertTrue(engine.execute(plan, trees).complete());
        assertOutsideUntouched();
    }

    @Test
    void mountPointsInsideATreeAreNotEntered() throws Exception {
        build("mkdir -p opt/mnt && echo a > opt/a", "true", "echo a2 > opt/a");
        Sh.run("mount -t tmpfs -o size=1m tmpfs '" + shadow + "/opt/mnt' && echo evil > '" + shadow + "/opt/mnt/planted'");
        try {
            MergePlan plan = takeShadow.plan(trees, Optional.empty());
            assertTrue(plan.detect().refused().stream().anyMatch(s -> s.contains("opt/mnt")), plan.detect().refused().toString());
            assertNull(plan.op("opt/mnt/planted"));
            // the subtree that was not compared is shown to the approver, not skipped in silence
            Conflict c = plan.unresolvedConflicts().stream().filter(x -> x.path().equals("opt/mnt")).findFirst().orElseThrow();
            assertEquals(ConflictKind.NOT_SCANNED, c.kind());
            assertTrue(c.note().contains("another file system"), c.note());
            assertEquals(java.util.List.of(Decision.KEEP_LIVE), c.choices());
            assertThrows(MergeConflictException.class, () -> takeShadow.execute(plan, trees));
            MergePlan kept = MergePlan.fromJson(plan.toJson()).withResolution("opt/mnt", Decision.KEEP_LIVE);
            assertEquals(Rule.KEEP_LIVE, takeShadow.replan(kept, trees).op("opt/mnt").rule());
            assertTrue(takeShadow.execute(takeShadow.replan(kept, trees), trees).complete());
            assertFalse(Files.exists(live.resolve("opt/mnt/planted")));
        } finally {
            Sh.run("umount '" + shadow + "/opt/mnt'");
        }
    }
}
