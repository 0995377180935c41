package dev.shadowpatch.merge;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Plans that execute: every shape where one side drops or retypes a directory while the other
 * writes under it is decided at plan time, either as an operation that executes or as a conflict
 * with its choices. Each test builds the shape on real directories (default policy: /srv asks,
 * /var/log keeps the live VM's), plans, resolves what a conflict offers, executes and checks the
 * live tree.
 */
@Timeout(120)
class PlanShapesTest {
    @TempDir Path tmp;
    Path base, live, shadow;
    MergeTrees trees;
    final MergeEngine engine = new MergeEngine(MergePolicy.defaults());

    @BeforeEach
    void setUp() {
        base = tmp.resolve("base"); live = tmp.resolve("live"); shadow = tmp.resolve("shadow");
        trees = new MergeTrees(base, live, shadow);
    }

    void build(String baseScript, String liveScript, String shadowScript) {
        Sh.forkTrees(trees, baseScript, liveScript, shadowScript);
    }

    MergePlan plan() throws Exception {
        return MergePlan.fromJson(engine.plan(trees, Optional.empty()).toJson());
    }

    static List<String> conflictPaths(MergePlan p) {
        return p.unresolvedConflicts().stream().map(Conflict::path).toList();
    }

    /** Executes the approved plan as the window does (replan, then execute) and requires it complete. */
    MergeReport execute(MergePlan approved) throws Exception {
        MergePlan now = engine.replan(MergePlan.fromJson(approved.toJson()), trees);
        assertEquals(List.of(), conflictPaths(now), "conflicts at the window");
        MergeReport r = engine.execute(now, trees);
        assertEquals(java.util.Map.of(), r.left(), "left undone");
        return r;
    }

    @Test
    void shadowDropsLogDirectory_liveAppendsToALogInIt_directoryIsKept() throws Exception {
        build("mkdir -p var/log/foo && echo 1 > var/log/foo/x.log && echo old > var/log/foo/old.log",
                "echo 2 >> var/log/foo/x.log",
                "rm -r var/log/foo");
        MergePlan p = plan();
        assertEquals(List.of(), conflictPaths(p));
        assertEquals(Op.Action.NONE, p.op("var/log/foo").action());
        assertEquals(Rule.KEPT_FOR_LIVE_ENTRIES, p.op("var/log/foo").rule());
        execute(p);
        assertEquals("1\n2\n", Files.readString(live.resolve("var/log/foo/x.log")));
        assertFalse(Files.exists(live.resolve("var/log/foo/old.log")));
    }

    @Test
    void shadowDropsDirectory_liveChangedAFile_keepLiveKeepsTheDirectory() throws Exception {
        build("mkdir -p srv/foo && echo 1 > srv/foo/x && echo y > srv/foo/y", "echo live > srv/foo/x", "rm -r srv/foo");
        MergePlan p = plan();
        assertEquals(List.of("srv/foo/x"), conflictPaths(p));
        assertEquals(ConflictKind.DELETE_MODIFY, p.op("srv/foo/x").conflict());
        MergePlan resolved = p.withResolution("srv/foo/x", Decision.KEEP_LIVE);
        assertEquals(Rule.KEPT_FOR_LIVE_ENTRIES, resolved.op("srv/foo").rule());
        execute(resolved);
        assertEquals("live\n", Files.readString(live.resolve("srv/foo/x")));
        assertFalse(Files.exists(live.resolve("srv/foo/y")));
    }

    @Test
    void shadowDropsDirectory_liveAddsAFileTwoLevelsDown_keepLiveKeepsBothDirectories() throws Exception {
        build("mkdir -p srv/foo/sub && echo a > srv/foo/sub/a && echo b > srv/foo/b", "echo n > srv/foo/sub/new", "rm -r srv/foo");
        MergePlan p = plan();
        assertEquals(List.of("srv/foo/sub"), conflictPaths(p));
        MergePlan resolved = p.withResolution("srv/foo/sub", Decision.KEEP_LIVE);
        assertEquals(Rule.KEPT_FOR_LIVE_ENTRIES, resolved.op("srv/foo").rule());
        execute(resolved);
        assertEquals("n\n", Files.readString(live.resolve("srv/foo/sub/new")));
        assertFalse(Files.exists(live.resolve("srv/foo/sub/a")));
        assertFalse(Files.exists(live.resolve("srv/foo/b")));
    }

    @Test
    void shadowTurnsDirectoryIntoFile_liveKeepsAFileInIt_isAConflictWithBothChoices() throws Exception {
        build("mkdir -p srv/d && echo 1 > srv/d/x", "echo live > srv/d/x", "rm -r srv/d && echo file > srv/d");
        MergePlan p = plan().withResolution("srv/d/x", Decision.KEEP_LIVE);
        assertEquals(List.of("srv/d"), conflictPaths(p), "the directory the live VM keeps a file in cannot silently become a file");
        assertEquals(ConflictKind.LIVE_KEEPS_ENTRIES, p.op("srv/d").conflict());
        assertTrue(p.withResolution("srv/d", Decision.KEEP_LIVE).unresolvedConflicts().isEmpty());
        execute(p.withResolution("srv/d", Decision.TAKE_SHADOW));
        assertEquals("file\n", Files.readString(live.resolve("srv/d")));
    }

    @Test
    void shadowTurnsLogDirectoryIntoSymlink_liveAppendsInIt_policyKeepsTheLiveDirectory() throws Exception {
        build("mkdir -p var/log/d && echo 1 > var/log/d/x", "echo 2 >> var/log/d/x", "rm -r var/log/d && ln -s elsewhere var/log/d");
        MergePlan p = plan();
        assertEquals(List.of(), conflictPaths(p));
        assertEquals(Rule.KEEP_LIVE, p.op("var/log/d").rule());
        execute(p);
        assertTrue(Files.isDirectory(live.resolve("var/log/d"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
        assertEquals("1\n2\n", Files.readString(live.resolve("var/log/d/x")));
    }

    @Test
    void liveTurnsDirectoryIntoSymlink_shadowWritesInIt_isAConflictOnlyKeepLiveSettles() throws Exception {
        build("mkdir -p srv/d && echo 1 > srv/d/a", "rm -r srv/d && ln -s /etc srv/d", "echo 2 > srv/d/a && echo n > srv/d/new");
        MergePlan p = plan();
        assertEquals(List.of("srv/d/a", "srv/d/new"), conflictPaths(p));
        assertEquals(ConflictKind.LIVE_PARENT_NOT_DIRECTORY, p.op("srv/d/new").conflict());
        assertEquals(List.of(Decision.KEEP_LIVE), p.unresolvedConflicts().get(1).choices());
        assertThrows(IllegalArgumentException.class, () -> p.withResolution("srv/d/a", Decision.TAKE_SHADOW));
        MergePlan resolved = p.withResolution("srv/d/a", Decision.KEEP_LIVE).withResolution("srv/d/new", Decision.KEEP_LIVE);
        execute(resolved);
        assertEquals("/etc", Files.readSymbolicLink(live.resolve("srv/d")).toString());
    }

    @Test
    void liveTurnsDirectoryIntoFile_shadowAddsAFileInIt_isAConflict() throws Exception {
        build("mkdir -p srv/d && echo 1 > srv/d/a", "rm -r srv/d && echo f > srv/d", "echo n > srv/d/new");
        MergePlan p = plan();
        assertEquals(List.of("srv/d/new"), conflictPaths(p));
        execute(p.withResolution("srv/d/new", Decision.KEEP_LIVE));
        assertEquals("f\n", Files.readString(live.resolve("srv/d")));
    }

    @Test
    void liveRemovesDirectory_shadowAddsAFileInIt_isAConflict() throws Exception {
        build("mkdir -p srv/d && echo 1 > srv/d/a", "rm -r srv/d", "echo n > srv/d/new");
        MergePlan p = plan();
        assertEquals(List.of("srv/d/new"), conflictPaths(p));
        execute(p.withResolution("srv/d/new", Decision.KEEP_LIVE));
        assertFalse(Files.exists(live.resolve("srv/d")));
    }

    @Test
    void shadowTurnsSymlinkIntoDirectory_liveRetargetsIt_keepLiveLeavesTheDirectoryContentOut() throws Exception {
        build("mkdir srv && ln -s x srv/l", "ln -sfn y srv/l", "rm srv/l && mkdir -p srv/l/sub && echo f > srv/l/sub/f");
        MergePlan p = plan();
        assertEquals(List.of("srv/l"), conflictPaths(p));
        MergePlan kept = p.withResolution("srv/l", Decision.KEEP_LIVE);
        assertEquals(Rule.UNDER_KEPT_LIVE, kept.op("srv/l/sub").rule());
        assertEquals(Rule.UNDER_KEPT_LIVE, kept.op("srv/l/sub/f").rule());
        execute(kept);
        assertEquals("y", Files.readSymbolicLink(live.resolve("srv/l")).toString());
    }

    @Test
    void shadowTurnsSymlinkIntoDirectory_liveRetargetsIt_takeShadowWritesTheDirectory() throws Exception {
        build("mkdir srv && ln -s x srv/l", "ln -sfn y srv/l", "rm srv/l && mkdir -p srv/l/sub && echo f > srv/l/sub/f");
        execute(plan().withResolution("srv/l", Decision.TAKE_SHADOW));
        assertEquals("f\n", Files.readString(live.resolve("srv/l/sub/f")));
    }

    @Test
    void shadowTurnsFileIntoDirectory_liveModifiesTheFile_keepLiveExecutes() throws Exception {
        build("mkdir srv && echo 1 > srv/f", "echo live > srv/f", "rm srv/f && mkdir srv/f && echo i > srv/f/inner");
        MergePlan p = plan();
        assertEquals(List.of("srv/f"), conflictPaths(p));
        execute(p.withResolution("srv/f", Decision.KEEP_LIVE));
        assertEquals("live\n", Files.readString(live.resolve("srv/f")));
    }

    @Test
    void liveTurnsSymlinkIntoDirectory_shadowRetargetsIt_takeShadowReplacesTheTree() throws Exception {
        build("mkdir srv && ln -s x srv/l", "rm srv/l && mkdir srv/l && echo d > srv/l/data", "ln -sfn z srv/l");
        MergePlan p = plan();
        assertEquals(List.of("srv/l"), conflictPaths(p));
        execute(p.withResolution("srv/l", Decision.TAKE_SHADOW));
        assertEquals("z", Files.readSymbolicLink(live.resolve("srv/l")).toString());
    }
}
