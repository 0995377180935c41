package dev.shadowpatch.merge;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The command line: exit codes, conflict listing, reports, plan out/in, resolutions. */
@Timeout(60)
class MergeCliTest {
    @TempDir Path tmp;

    int run(ByteArrayOutputStream out, ByteArrayOutputStream err, String... args) {
        return MergeCli.run(args, new PrintStream(out, true), new PrintStream(err, true));
    }

    @Test
    void conflictsExit3WithThreeVersions_thenResolvedMergeExits0() throws Exception {
        Sh.run("cd '" + tmp + "' && mkdir -p base/usr && echo a > base/usr/x && echo b > base/usr/y && cp -a base live && cp -a base shadow && "
                + "echo L > live/usr/x && echo S > shadow/usr/x && echo b2 > shadow/usr/y");
        String[] trees = {"merge", "--base", tmp + "/base", "--live", tmp + "/live", "--shadow", tmp + "/shadow"};
        var out = new ByteArrayOutputStream(); var err = new ByteArrayOutputStream();
        String[] a1 = concat(trees, "--report", tmp + "/r.json", "--plan-out", tmp + "/plan.json");
        assertEquals(MergeCli.CONFLICTS, run(out, err, a1));
        String e = err.toString();
        assertTrue(e.contains("/usr/x") && e.contains("base:") && e.contains("live:") && e.contains("shadow:"), e);
        assertEquals("b\n", Files.readString(tmp.resolve("live/usr/y")), "nothing written");
        assertTrue(Files.readString(tmp.resolve("r.json")).contains("unresolved conflict"));
        assertEquals(MergeCli.CONFLICTS, run(out, err, concat(trees, "--plan-in", tmp + "/plan.json")));
        assertEquals(MergeCli.OK, run(out, err, concat(trees, "--plan-in", tmp + "/plan.json", "--resolve", "/usr/x=keep-live", "--report", tmp + "/r2.json")));
        assertEquals("L\n", Files.readString(tmp.resolve("live/usr/x")));
        assertEquals("b2\n", Files.readString(tmp.resolve("live/usr/y")));
        String r2 = Files.readString(tmp.resolve("r2.json"));
        assertTrue(r2.contains("\"complete\" : true") && r2.contains("take-shadow-replace (rule 3)") && r2.contains("executeSeconds"), r2);
        assertEquals(MergeCli.USAGE, run(out, err, "merge", "--base", "x"));
        assertEquals(MergeCli.USAGE, run(out, err, "frobnicate"));
    }

    @Test
    void anInterruptedMergeIsResumedByTheSameCommand_fromTheDefaultJournalBesideTheLiveTree() throws Exception {
        Sh.run("cd '" + tmp + "' && mkdir -p base/usr && echo a > base/usr/x && echo b > base/usr/y && cp -a base live && cp -a base shadow && "
                + "echo x2 > shadow/usr/x && echo y2 > shadow/usr/y && mkdir -m 0750 shadow/usr/new && echo n > shadow/usr/new/f");
        MergeTrees trees = new MergeTrees(tmp.resolve("base"), tmp.resolve("live"), tmp.resolve("shadow"));
        MergePlan plan = new MergeEngine(MergePolicy.defaults()).plan(trees, java.util.Optional.empty());
        // a run killed after it journaled the plan, wrote usr/x (journaled) and made usr/new (metadata not yet set)
        Path journal = tmp.resolve("live.merge-journal");
        Journal j = Journal.at(journal, trees);
        j.begin(plan);
        Sh.run("cd '" + tmp + "' && cp -a shadow/usr/x live/usr/x && mkdir -m 0700 live/usr/new");
        j.done("usr/x");
        j.close();
        var out = new ByteArrayOutputStream(); var err = new ByteArrayOutputStream();
        String[] args = {"merge", "--base", tmp + "/base", "--live", tmp + "/live", "--shadow", tmp + "/shadow"};
        assertEquals(MergeCli.OK, run(out, err, args), err.toString());
        assertTrue(out.toString().contains("resuming the interrupted merge of " + journal + ": 1 of 4 operations done"), out.toString());
        assertFalse(Files.exists(journal));
        assertEquals("", Sh.diff(tmp.resolve("shadow"), tmp.resolve("live")));
        // run again: no journal, a fresh plan finds everything done
        out.reset();
        assertEquals(MergeCli.OK, run(out, err, args), err.toString());
        assertFalse(out.toString().contains("resuming"), out.toString());
    }

    @Test
    @Timeout(900) // builds the jar first when it is missing or stale
    void launcherWorksFromAnyDirectory() {
        Path launcher = Path.of(System.getProperty("user.dir"), "ops/shadowpatch");
        String out = Sh.run(tmp, "'" + launcher + "' merge --help", 600);
        assertTrue(out.contains("usage: shadowpatch merge"), out);
    }

    static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
