package dev.shadowpatch.merge;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.*;

/** Executor and engine on real directories (run as root: owners, device nodes, xattrs, ACLs). */
@Timeout(120)
class MergeEngineTest {
    @TempDir Path tmp;
    Path base, live, shadow, expected;
    MergeTrees trees;
    final MergeEngine engine = new MergeEngine(MergePolicy.defaults());

    @BeforeEach
    void setUp() {
        base = tmp.resolve("base"); live = tmp.resolve("live"); shadow = tmp.resolve("shadow"); expected = tmp.resolve("expected");
        trees = new MergeTrees(base, live, shadow);
    }

    /** base from script, live and shadow as copies of it, then each changed by its script. */
    void build(String baseScript, String liveScript, String shadowScript) {
        Sh.forkTrees(trees, baseScript, liveScript, shadowScript);
    }

    MergeReport merge() throws Exception {
        MergePlan plan = engine.plan(trees, Optional.empty());
        assertEquals(java.util.List.of(), plan.unresolvedConflicts(), "conflicts");
        MergePlan again = MergePlan.fromJson(plan.toJson());
        MergeReport r = engine.execute(engine.replan(again, trees), trees);
        assertTrue(r.complete(), () -> "left: " + r.left());
        return r;
    }

    @Test
    void rules1to3_withLiveChangesKept() throws Exception {
        build("mkdir -p usr/bin etc srv && echo old > usr/bin/tool && echo gone > usr/bin/obsolete && echo conf > etc/app.conf && echo keep > srv/data",
                "echo new-data > srv/data2 && echo edited > srv/data",
                "rm usr/bin/obsolete && echo new > usr/bin/tool && mkdir -p usr/lib/new/sub && echo lib > usr/lib/new/sub/x.so && ln -s x.so usr/lib/new/sub/x.so.1");
        MergeReport r = merge();
        assertEquals("new\n", Files.readString(live.resolve("usr/bin/tool")));
        assertFalse(Files.exists(live.resolve("usr/bin/obsolete")));
        assertEquals("lib\n", Files.readString(live.resolve("usr/lib/new/sub/x.so")));
        assertEquals("x.so", Files.readSymbolicLink(live.resolve("usr/lib/new/sub/x.so.1")).toString());
        assertEquals("edited\n", Files.readString(live.resolve("srv/data")));
        assertEquals("new-data\n", Files.readString(live.resolve("srv/data2")));
        assertEquals(1L, r.ruleCounts().get(Rule.TAKE_SHADOW_DELETE));
        assertEquals(1L, r.ruleCounts().get(Rule.TAKE_SHADOW_REPLACE));
        assertEquals(5L, r.ruleCounts().get(Rule.TAKE_SHADOW_CREATE)); // usr/lib, usr/lib/new, sub, x.so, x.so.1
        assertEquals(8, r.bytesCopied()); // "new\n" + "lib\n"
    }

    /**
     * The window's deadline: no operation starts after it. A merge that reaches it writes nothing
     * more, says what it left (so it is incomplete and the window rolls back), and keeps its journal.
     */
    @Test
    void noOperationStartsAfterTheDeadlineAndTheMergeSaysItIsIncomplete() throws Exception {
        build("mkdir -p usr/bin && echo old > usr/bin/tool",
                "true",
                "echo new > usr/bin/tool && echo add > usr/bin/added");
        MergePlan plan = engine.plan(trees, Optional.empty());
        Journal journal = Journal.at(tmp.resolve("journal"), "base", "live", "shadow");
        MergeReport r = engine.execute(plan, trees, journal, java.time.Instant.now().minusSeconds(1));
        assertFalse(r.complete());
        assertEquals(java.util.Set.of("usr/bin/tool", "usr/bin/added"), r.left().keySet());
        assertTrue(r.left().values().stream().allMatch(why -> why.contains("the merge's deadline")), () -> "left: " + r.left());
        assertEquals("old\n", Files.readString(live.resolve("usr/bin/tool")));
        assertFalse(Files.exists(live.resolve("usr/bin/added")));
        assertTrue(journal.interrupted().isPresent(), "the journal stays for a resume");

        MergeReport later = engine.resume(journal.interrupted().get(), trees, journal, java.time.Instant.now().plusSeconds(60));
        assertTrue(later.complete(), () -> "left: " + later.left());
        assertEquals("new\n", Files.readString(live.resolve("usr/bin/tool")));
    }

    @Test
    void metadata_ownerModeSetuidXattrsCapabilitiesAcls() throws Exception {
        build("mkdir -p usr/bin opt && echo a > usr/bin/ping && echo b > usr/bin/su && echo c > opt/shared && echo d > opt/meta",
                "true",
                "chown 1234:5678 usr/bin/su && chmod 4755 usr/bin/su && setcap cap_net_raw+ep usr/bin/ping && "
                        + "setfacl -m u:4321:rw opt/shared && setfattr -n user.note -v hello opt/shared && "
                        + "echo new > opt/meta && chown 77:88 opt/meta && chmod 2750 opt/meta && setfattr -n user.k -v v opt/meta");
        MergeReport r = merge();
        assertEquals("", Sh.diff(shadow, live));
        assertTrue(Sh.run("getcap '" + live + "/usr/bin/ping'").contains("cap_net_raw"));
        assertEquals("4755 1234:5678", Sh.run("stat -c '%a %u:%g' '" + live + "/usr/bin/su'").strip());
        assertEquals("2750 77:88", Sh.run("stat -c '%a %u:%g' '" + live + "/opt/meta'").strip());
        assertTrue(Sh.run("getfacl -n '" + live + "/opt/shared'").contains("user:4321:rw-"));
        assertEquals(3L, r.ruleCounts().get(Rule.METADATA_ONLY));
    }

    @Test
    void hardLinksSparseFilesFifosAndDeviceNodes() throws Exception {
        build("mkdir -p opt/dev",
                "true",
                "echo same > opt/h1 && ln opt/h1 opt/h2 && truncate -s 200M opt/sparse && echo tail >> opt/sparse && "
                        + "mkfifo -m 0640 opt/fifo && mknod -m 0600 opt/dev/null c 1 3 && mknod opt/dev/sdz b 8 0 && chown 5:6 opt/dev/sdz");
        merge();
        assertEquals("", Sh.diff(shadow, live));
        assertEquals(Sh.run("stat -c %i '" + live + "/opt/h1'"), Sh.run("stat -c %i '" + live + "/opt/h2'"));
        long blocks = Long.parseLong(Sh.run("stat -c %b '" + live + "/opt/sparse'").strip());
        assertTrue(blocks < 1000, "sparse file stays sparse, blocks=" + blocks);
        assertEquals("fifo 640", Sh.run("stat -c '%F %a' '" + live + "/opt/fifo'").strip());
        assertEquals("character special file 1 3", Sh.run("stat -c '%F %t %T' '" + live + "/opt/dev/null'").strip());
        assertEquals("block special file 8 0 5:6", Sh.run("stat -c '%F %t %T %u:%g' '" + live + "/opt/dev/sdz'").strip());
    }

    @Test
    void typeChangesAndDirectoryTrees() throws Exception {
        build("mkdir -p a/dir/sub b && echo 1 > a/dir/sub/f && echo 2 > a/file && echo 3 > b/tolink && mkdir c && echo 4 > c/f",
                "true",
                "rm -r a/dir && echo now-a-file > a/dir && rm a/file && mkdir -p a/file/inner && echo 5 > a/file/inner/g && "
                        + "rm b/tolink && ln -s /etc/passwd b/tolink && rm -r c");
        merge();
        assertEquals("", Sh.diff(shadow, live));
    }

    @Test
    void nonUtf8NamesSurvive() throws Exception {
        build("mkdir -p data && printf x > data/$'caf\\xe9' && mkdir data/$'d\\xff\\x01%'",
                "true",
                "printf y > data/$'caf\\xe9' && printf z > data/$'d\\xff\\x01%'/$'n\\nl' && printf w > data/$'\\xc3\\xa9t\\xc3\\xa9'");
        merge();
        assertEquals("", Sh.diff(shadow, live));
    }

    @Test
    void conflictAsk_refusesAndWritesNothing_thenResolutionMerges() throws Exception {
        build("mkdir -p usr/share && echo base > usr/share/x && echo b > usr/share/y",
                "echo live > usr/share/x",
                "echo shadow > usr/share/x && echo b2 > usr/share/y");
        String before = Sh.run("cd '" + live + "' && find . -printf '%p %s %T@ %i\\n' | sort");
        MergePlan plan = engine.plan(trees, Optional.empty());
        assertEquals(1, plan.unresolvedConflicts().size());
        Conflict c = plan.unresolvedConflicts().get(0);
        assertEquals("usr/share/x", c.path());
        assertEquals(ConflictKind.BOTH_MODIFIED, c.kind());
        assertNotNull(c.base()); assertNotNull(c.live()); assertNotNull(c.shadow());
        MergeConflictException e = assertThrows(MergeConflictException.class, () -> engine.execute(plan, trees));
        assertEquals(1, e.conflicts().size());
        assertEquals(before, Sh.run("cd '" + live + "' && find . -printf '%p %s %T@ %i\\n' | sort"), "nothing written");
        MergePlan resolved = MergePlan.fromJson(plan.toJson()).withResolution("usr/share/x", Decision.HYBRID);
        MergeReport r = engine.execute(engine.replan(resolved, trees), trees);
        assertTrue(r.complete(), r.left().toString());
        assertEquals(1L, r.ruleCounts().get(Rule.HYBRID));
        Path x = live.resolve("usr/share/x");
        assertTrue(Files.isSymbolicLink(x));
        assertEquals("shadow\n", Files.readString(x));
        assertEquals("b2\n", Files.readString(live.resolve("usr/share/y")));
        try (var s = Files.list(live.resolve("usr/share"))) {
            assertTrue(s.anyMatch(p -> p.getFileName().toString().startsWith("x.sp-live-")));
        }
        // a re-run of the resolved plan finds the hybrid copy done
        MergePlan rerun = engine.replan(resolved, trees);
        assertEquals(Rule.HYBRID_DONE, rerun.op("usr/share/x").rule());
        assertTrue(engine.execute(rerun, trees).complete());
    }

    @Test
    void threeWayTextMergeUnderEtc() throws Exception {
        build("mkdir etc && printf 'a=1\\nb=2\\nc=3\\nd=4\\ne=5\\n' > etc/app.conf",
                "sed -i s/a=1/a=LIVE/ etc/app.conf",
                "sed -i s/e=5/e=SHADOW/ etc/app.conf && chmod 600 etc/app.conf");
        MergeReport r = merge();
        assertEquals("a=LIVE\nb=2\nc=3\nd=4\ne=SHADOW\n", Files.readString(live.resolve("etc/app.conf")));
        assertEquals("600", Sh.run("stat -c %a '" + live + "/etc/app.conf'").strip());
        assertEquals(1L, r.ruleCounts().get(Rule.THREE_WAY_MERGED));
    }

    @Test
    void anOperatorsLineMergeOutsideEtcIsOfferedWhereCleanAndExecutedInTheWindow() throws Exception {
        build("mkdir -p srv/app && printf 'a=1\\nb=2\\nc=3\\nd=4\\ne=5\\n' > srv/app/clean.txt && printf 'x=1\\n' > srv/app/clash.txt",
                "sed -i s/a=1/a=LIVE/ srv/app/clean.txt && echo x=LIVE > srv/app/clash.txt",
                "sed -i s/e=5/e=SHADOW/ srv/app/clean.txt && echo x=SHADOW > srv/app/clash.txt");
        MergePlan plan = engine.plan(trees, Optional.empty()); // policy ask: nothing merged without the operator
        Conflict clean = plan.unresolvedConflicts().stream().filter(c -> c.path().equals("srv/app/clean.txt")).findFirst().orElseThrow();
        Conflict clash = plan.unresolvedConflicts().stream().filter(c -> c.path().equals("srv/app/clash.txt")).findFirst().orElseThrow();
        assertTrue(clean.choices().contains(Decision.THREE_WAY), clean.describe());
        assertFalse(clash.choices().contains(Decision.THREE_WAY), clash.describe());
        MergePlan approved = MergePlan.fromJson(plan.toJson()).withResolution("srv/app/clean.txt", Decision.THREE_WAY)
                .withResolution("srv/app/clash.txt", Decision.KEEP_LIVE);
        MergeReport r = engine.execute(engine.replan(MergePlan.fromJson(approved.toJson()), trees), trees);
        assertTrue(r.complete(), () -> "left: " + r.left());
        assertEquals("a=LIVE\nb=2\nc=3\nd=4\ne=SHADOW\n", Files.readString(live.resolve("srv/app/clean.txt")));
        assertEquals("x=LIVE\n", Files.readString(live.resolve("srv/app/clash.txt")));
        assertEquals(1L, r.ruleCounts().get(Rule.THREE_WAY_MERGED));
    }

    @Test
    void rerunAfterCrash_finishesTheJob() throws Exception {
        build("mkdir -p usr/lib && for i in $(seq 1 50); do echo $i > usr/lib/f$i; done",
                "true",
                "for i in $(seq 1 50); do echo new$i > usr/lib/f$i; done && rm usr/lib/f7 && echo n > usr/lib/added");
        MergePlan plan = engine.plan(trees, Optional.empty());
        // a crash half way: some operations done, a stale temporary file left behind
        Sh.run("cd '" + live + "' && for i in $(seq 1 20); do cp -a '" + shadow + "'/usr/lib/f$i usr/lib/f$i; done && rm usr/lib/f7 && "
                + "echo partial > usr/lib/.sp-tmp-$(printf f30 | sha1sum | cut -c1-40)");
        MergeReport r = engine.execute(plan, trees);
        assertTrue(r.complete(), r.left().toString());
        assertFalse(r.alreadyDone().isEmpty());
        assertEquals("", Sh.diff(shadow, live));
        MergeReport second = engine.execute(plan, trees);
        assertTrue(second.complete(), second.left().toString());
        assertEquals("", Sh.diff(shadow, live));
    }

    @Test
    void guestChangeLogInTheShadowTree_isAHint_theScanFindsWhatItMissed_andTheAgentIsNotMerged() throws Exception {
        build("mkdir -p usr/lib etc var/lib && echo 1 > usr/lib/a && echo 1 > usr/lib/b",
                "true",
                "echo 2 > usr/lib/a && echo 2 > usr/lib/b && mkdir -p var/lib/sp-change-capture etc/sp-change-capture && "
                        + "echo x > etc/sp-change-capture/exclude.list && "
                        + "printf '1764216000 CLOSE_WRITE,CLOSE /usr/lib/a\\n1764216000 MODIFY /usr/lib/a\\nnot a line\\n' > var/lib/sp-change-capture/changes.log");
        MergePlan plan = engine.planWithGuestLog(trees);
        assertEquals(1, plan.detect().logPaths());
        assertEquals(java.util.List.of("usr/lib/b"), plan.detect().logMissed());
        assertEquals(1, plan.detect().logMalformed().size());
        assertEquals(java.util.List.of("usr/lib/a", "usr/lib/b"), plan.ops().stream().map(Op::path).toList(), "the agent's files stay in the shadow");
    }

    @Test
    void guestChangeLogThatIsASymlink_isNotFollowed() throws Exception {
        Path host = tmp.resolve("host-file");
        Files.writeString(host, "1764216000 MODIFY /usr/lib/a\n");
        build("mkdir -p usr/lib var/lib && echo 1 > usr/lib/a", "true",
                "echo 2 > usr/lib/a && mkdir -p var/lib/sp-change-capture && ln -s '" + host + "' var/lib/sp-change-capture/changes.log");
        assertEquals(-1, engine.planWithGuestLog(trees).detect().logPaths(), "no log read through the guest's link");
    }

    @Test
    void liveChangedAfterPlan_isReportedAsLeft() throws Exception {
        build("mkdir d && echo 1 > d/a && echo 2 > d/b", "true", "echo 1new > d/a && echo 2new > d/b");
        MergePlan plan = engine.plan(trees, Optional.empty());
        Sh.run("echo live-late > '" + live + "/d/a'");
        MergeReport r = engine.execute(plan, trees);
        assertEquals(Map.of("d/a", "live entry changed since the plan was made; replan").keySet(), r.left().keySet());
        assertEquals("live-late\n", Files.readString(live.resolve("d/a")));
        assertEquals("2new\n", Files.readString(live.resolve("d/b")));
        assertEquals(1, engine.replan(plan, trees).unresolvedConflicts().size());
    }
}
