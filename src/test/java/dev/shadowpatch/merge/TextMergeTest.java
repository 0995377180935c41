package dev.shadowpatch.merge;

import dev.shadowpatch.merge.fs.Tree;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.*;

/** diff3 runs bounded: a merge tool that hangs costs its timeout, never the window. */
@Timeout(60)
class TextMergeTest {
    @TempDir Path tmp;

    Optional<Planner.Merged> merge(List<String> command, Duration timeout) throws Exception {
        return merge("printf 'A\\nb\\nc\\n' > f", "printf 'a\\nb\\nC\\n' > f", command, timeout);
    }

    Optional<Planner.Merged> merge(String liveScript, String shadowScript, List<String> command, Duration timeout) throws Exception {
        MergeTrees t = new MergeTrees(tmp.resolve("base"), tmp.resolve("live"), tmp.resolve("shadow"));
        Sh.forkTrees(t, "printf 'a\\nb\\nc\\n' > f", liveScript, shadowScript);
        try (Tree base = Tree.open(t.base(), "base"); Tree live = Tree.open(t.live(), "live"); Tree shadow = Tree.open(t.shadow(), "shadow")) {
            PathFacts f = PathFacts.fromEntries("f", PlannerCaseTableTest.file("b"), PlannerCaseTableTest.file("l"), PlannerCaseTableTest.file("s"), false);
            return new TextMerge(base, live, shadow, command, timeout).merge(f);
        }
    }

    @Test
    void cleanMergeWithDiff3() throws Exception {
        Optional<Planner.Merged> m = merge(TextMerge.DIFF3, Duration.ofSeconds(30));
        assertEquals(Optional.of(new Planner.Merged(TextMerge.sha256("A\nb\nC\n".getBytes()), 6)), m);
    }

    @Test
    void aChangeBothSidesMadeAlikeIsMerged_soACompletedMergePlannedAgainIsClean() throws Exception {
        // live = the earlier merge's result (shadow's first line + live's last line), shadow as before
        Optional<Planner.Merged> m = merge("printf 'X\\na\\nb\\nc\\nL\\n' > f", "printf 'X\\na\\nb\\nc\\n' > f", TextMerge.DIFF3, Duration.ofSeconds(30));
        assertEquals(Optional.of(new Planner.Merged(TextMerge.sha256("X\na\nb\nc\nL\n".getBytes()), 10)), m);
    }

    @Test
    void aRealConflictIsNoMerge() throws Exception {
        assertEquals(Optional.empty(), merge("printf 'a\\nB\\nc\\n' > f", "printf 'a\\nC\\nc\\n' > f", TextMerge.DIFF3, Duration.ofSeconds(30)));
    }

    @Test
    void aHungMergeToolIsKilledAtItsTimeout() throws Exception {
        long t0 = System.nanoTime();
        Optional<Planner.Merged> m = merge(List.of("bash", "-c", "echo partial; exec sleep 600"), Duration.ofSeconds(1));
        assertEquals(Optional.empty(), m, "no merge from a tool that did not finish");
        assertTrue(System.nanoTime() - t0 < 20_000_000_000L, "bounded by the timeout, not by the tool");
    }
}
