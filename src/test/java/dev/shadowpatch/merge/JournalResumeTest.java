package dev.shadowpatch.merge;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Resuming from the journal: every halfway state an operation can be killed in is accepted by the
 * re-run, which ends with the tree an uninterrupted merge makes (CrashMergeTest kills the real
 * process at random points; this test builds the halfway states one by one).
 */
@Timeout(120)
class JournalResumeTest {
    @TempDir Path tmp;
    final MergeEngine engine = new MergeEngine(MergePolicy.defaults());

    static final String BASE = "mkdir -p usr/lib d etc srv && echo a > usr/lib/a && echo b > usr/lib/b && echo 1 > d/in "
            + "&& printf 'a=1\\nb=2\\nc=3\\nd=4\\ne=5\\n' > etc/app.conf && echo x > srv/x";
    static final String LIVE = "sed -i s/a=1/a=LIVE/ etc/app.conf && echo live-x > srv/x";
    static final String SHADOW = "echo a2 > usr/lib/a && echo b2 > usr/lib/b && mkdir -m 0751 usr/new && echo n > usr/new/f "
            + "&& echo h > usr/lib/h1 && ln usr/lib/h1 usr/lib/h2 && rm -r d && echo now-a-file > d "
            + "&& sed -i s/e=5/e=SHADOW/ etc/app.conf && echo shadow-x > srv/x";

    MergeTrees trees(String live) {
        return new MergeTrees(tmp.resolve("base"), tmp.resolve(live), tmp.resolve("shadow"));
    }

    MergePlan approvedPlan(MergeTrees t) throws Exception {
        MergePlan p = engine.plan(t, Optional.empty());
        assertEquals(List.of("srv/x"), p.unresolvedConflicts().stream().map(Conflict::path).toList());
        return p.withResolution("srv/x", Decision.HYBRID);
    }

    @Test
    void everyHalfwayStateIsFinishedByTheReRun_asTheUninterruptedMergeWould() throws Exception {
        MergeTrees first = trees("live");
        Sh.forkTrees(first, BASE, LIVE, SHADOW);
        Sh.run("cp -a '" + first.live() + "' '" + tmp.resolve("expected") + "'");
        MergeTrees uninterrupted = trees("expected");
        MergeReport clean = engine.execute(approvedPlan(uninterrupted), uninterrupted);
        assertTrue(clean.complete(), clean.left().toString());

        MergePlan plan = approvedPlan(first);
        Journal journal = Journal.at(tmp.resolve("journal"), first);
        journal.begin(plan);
        Path l = first.live(), e = tmp.resolve("expected"), s = first.shadow();
        long shadowIno = Long.parseLong(Sh.run("stat -c %i '" + s + "/srv/x'").strip());
        long liveIno = Long.parseLong(Sh.run("stat -c %i '" + l + "/srv/x'").strip());
        Sh.run(String.join(" && ",
                // done and journaled
                "cp -a '" + s + "/usr/lib/a' '" + l + "/usr/lib/a'",
                // done, not journaled (killed between the rename and the journal line)
                "cp -a '" + s + "/usr/lib/b' '" + l + "/usr/lib/b'",
                // a new directory made, its metadata not yet set
                "mkdir -m 0700 '" + l + "/usr/new'",
                // the three-way merge renamed into place
                "cp -a '" + e + "/etc/app.conf' '" + l + "/etc/app.conf'",
                // rule 4 complete: both copies and the link
                "ln '" + l + "/srv/x' '" + l + "/srv/x.sp-live-" + liveIno + "'",
                "cp -a '" + e + "/srv/x.sp-shadow-" + shadowIno + "' '" + l + "/srv/'",
                "ln -sfn x.sp-shadow-" + shadowIno + " '" + l + "/srv/x'",
                // a type change: the live directory removed, the file not yet written
                "rm -r '" + l + "/d'",
                // first name of a hard-link pair written; the second's temporary link made, not renamed
                "cp -a '" + s + "/usr/lib/h1' '" + l + "/usr/lib/h1'",
                "ln '" + l + "/usr/lib/h1' '" + l + "/usr/lib/.sp-tmp-'$(printf h2 | sha1sum | cut -c1-40)"));
        journal.done("usr/lib/a");
        journal.close();

        assertFalse(engine.replan(plan, first).unresolvedConflicts().isEmpty(),
                "planned again, the half-merged tree shows its own partial work as live changes (why the journal exists)");

        Journal.Interrupted interrupted = Journal.at(tmp.resolve("journal"), first).interrupted().orElseThrow();
        assertEquals(java.util.Set.of("usr/lib/a"), interrupted.done());
        MergeReport r = engine.resume(interrupted, first, Journal.at(tmp.resolve("journal"), first));
        assertEquals(java.util.Map.of(), r.left());
        assertEquals(1, r.resumedDone());
        assertFalse(Files.exists(tmp.resolve("journal")));
        // rule 4 names the kept live version by its inode number, which differs between the two copies
        assertEquals("", Sh.diff(e, l, "/srv/x.sp-live-*"));
        assertEquals("live-x\n", Files.readString(l.resolve("srv/x.sp-live-" + liveIno)));
        assertEquals(Sh.run("stat -c %i '" + l + "/usr/lib/h1'"), Sh.run("stat -c %i '" + l + "/usr/lib/h2'"), "hard links stay linked");
        assertEquals("751", Sh.run("stat -c %a '" + l + "/usr/new'").strip());
    }

    @Test
    void aJournalOfOtherTreesIsRefused() throws Exception {
        MergeTrees t = trees("live");
        Sh.forkTrees(t, BASE, "true", "echo a2 > usr/lib/a");
        Journal.at(tmp.resolve("journal"), t).begin(engine.plan(t, Optional.empty()));
        MergeTrees other = new MergeTrees(t.base(), tmp.resolve("elsewhere"), t.shadow());
        assertThrows(java.io.IOException.class, () -> Journal.at(tmp.resolve("journal"), other).interrupted());
    }

    @Test
    void aPlanFileWithDotDotOrAnEscapedSlashIsRefused() throws Exception {
        MergeTrees t = trees("live");
        Sh.forkTrees(t, "mkdir usr && echo a > usr/x", "true", "echo b > usr/x");
        String json = engine.plan(t, Optional.empty()).toJson();
        for (String bad : new String[]{"usr/../../etc/x", "usr/%2E%2E/x", "usr/a%2Fb", "/usr/x", "usr//x", "usr/x%00"}) {
            String forged = json.replace("\"usr/x\"", "\"" + bad + "\"");
            assertNotEquals(json, forged);
            assertThrows(IllegalArgumentException.class, () -> MergePlan.fromJson(forged), bad);
        }
    }
}
