package dev.shadowpatch.merge;

import dev.shadowpatch.merge.fs.FileType;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.*;

/** The whole case table of the planner: one test per case (B = base, L = live, S = shadow). */
class PlannerCaseTableTest {
    static Entry file(String sha) { return file(sha, 0644); }
    static Entry file(String sha, int mode) {
        return new Entry(FileType.FILE, mode, 0, 0, sha.length(), null, null, null, Map.of(), sha, 1, 1, 0, 0);
    }
    static Entry dir() { return dir(0755); }
    static Entry dir(int mode) { return new Entry(FileType.DIR, mode, 0, 0, 0, null, null, null, Map.of(), null, 2, 2, 0, 0); }
    static Entry link(String t) { return new Entry(FileType.SYMLINK, 0777, 0, 0, t.length(), t, null, null, Map.of(), null, 3, 1, 0, 0); }
    static Entry fifo() { return new Entry(FileType.FIFO, 0600, 0, 0, 0, null, null, null, Map.of(), null, 4, 1, 0, 0); }
    static Entry chr(int ma, int mi) { return new Entry(FileType.CHAR, 0666, 0, 0, 0, null, ma, mi, Map.of(), null, 5, 1, 0, 0); }
    static Entry sock() { return new Entry(FileType.SOCKET, 0755, 0, 0, 0, null, null, null, Map.of(), null, 6, 1, 0, 0); }
    static Entry withXattr(Entry e, String n, String v) {
        return new Entry(e.type(), e.mode(), e.uid(), e.gid(), e.size(), e.target(), e.rdevMajor(), e.rdevMinor(),
                Map.of(n, v), e.sha256(), e.ino(), e.nlink(), e.mtimeSec(), e.mtimeNsec());
    }
    static Entry owned(Entry e, int uid) {
        return new Entry(e.type(), e.mode(), uid, uid, e.size(), e.target(), e.rdevMajor(), e.rdevMinor(),
                e.xattrs(), e.sha256(), e.ino(), e.nlink(), e.mtimeSec(), e.mtimeNsec());
    }

    static Op decide(Entry b, Entry l, Entry s) { return decide(b, l, s, Decision.ASK, null); }
    static Op decide(Entry b, Entry l, Entry s, Decision policy, Decision r) {
        return decide(b, l, s, policy, r, Planner.NO_MERGE, false);
    }
    static Op decide(Entry b, Entry l, Entry s, Decision policy, Decision r, Planner.TextMerger m, boolean liveAdds) {
        return Planner.decide(PathFacts.fromEntries("p", b, l, s, liveAdds), policy, r, m);
    }
    static void expect(Op op, Op.Action a, Rule rule) {
        assertEquals(a, op.action(), "action");
        assertEquals(rule, op.rule(), "rule");
    }

    // --- live unchanged since base: the shadow's change is taken ---
    @Test @DisplayName("rule 1: shadow deleted, live unchanged -> delete")
    void rule1_shadowDeleted_liveUnchanged() { expect(decide(file("a"), file("a"), null), Op.Action.DELETE, Rule.TAKE_SHADOW_DELETE); }
    @Test @DisplayName("rule 2: shadow created, live absent -> create")
    void rule2_shadowCreated() { expect(decide(null, null, file("n")), Op.Action.WRITE, Rule.TAKE_SHADOW_CREATE); }
    @Test @DisplayName("rule 3: shadow modified content, live unchanged -> replace")
    void rule3_shadowModified() {
        Op op = decide(file("a"), file("a"), file("bb"));
        expect(op, Op.Action.WRITE, Rule.TAKE_SHADOW_REPLACE);
        assertEquals(2, op.bytes());
    }
    @Test void rule3_symlinkRetargeted() { expect(decide(link("x"), link("x"), link("y")), Op.Action.WRITE, Rule.TAKE_SHADOW_REPLACE); }
    @Test void rule3_deviceNumberChanged() { expect(decide(chr(1, 3), chr(1, 3), chr(1, 5)), Op.Action.WRITE, Rule.TAKE_SHADOW_REPLACE); }
    @Test void metadataOnly_modeChanged() { expect(decide(file("a"), file("a"), file("a", 04755)), Op.Action.META, Rule.METADATA_ONLY); }
    @Test void metadataOnly_ownerChanged() { expect(decide(file("a"), file("a"), owned(file("a"), 33)), Op.Action.META, Rule.METADATA_ONLY); }
    @Test void metadataOnly_capabilityAdded() {
        expect(decide(file("a"), file("a"), withXattr(file("a"), "security.capability", "AQAAAg==")), Op.Action.META, Rule.METADATA_ONLY);
    }
    @Test void metadataOnly_directoryModeChanged() { expect(decide(dir(), dir(), dir(0700)), Op.Action.META, Rule.METADATA_ONLY); }
    @Test void typeChange_fileToSymlink() { expect(decide(file("a"), file("a"), link("a.real")), Op.Action.WRITE, Rule.TYPE_CHANGE); }
    @Test void typeChange_directoryToFile() { expect(decide(dir(), dir(), file("f")), Op.Action.WRITE, Rule.TYPE_CHANGE); }
    @Test void typeChange_fileToDirectory() { expect(decide(file("f"), file("f"), dir()), Op.Action.WRITE, Rule.TYPE_CHANGE); }
    @Test void directoryCreated() { expect(decide(null, null, dir()), Op.Action.WRITE, Rule.TAKE_SHADOW_CREATE); }
    @Test void directoryRemoved_liveUnchanged() { expect(decide(dir(), dir(), null), Op.Action.DELETE, Rule.TAKE_SHADOW_DELETE); }
    @Test void fifoCreated() { expect(decide(null, null, fifo()), Op.Action.WRITE, Rule.TAKE_SHADOW_CREATE); }
    @Test void socketCreated() { expect(decide(null, null, sock()), Op.Action.WRITE, Rule.TAKE_SHADOW_CREATE); }
    @Test void deviceNodeCreated() { expect(decide(null, null, chr(1, 3)), Op.Action.WRITE, Rule.TAKE_SHADOW_CREATE); }

    // --- nothing to do ---
    @Test void bothDeleted() { expect(decide(file("a"), null, null), Op.Action.NONE, Rule.BOTH_DELETED); }
    @Test void bothChangedAlike() { expect(decide(file("a"), file("b"), file("b")), Op.Action.NONE, Rule.SAME_CHANGE); }
    @Test void bothCreatedAlike() { expect(decide(null, file("n"), file("n")), Op.Action.NONE, Rule.SAME_CHANGE); }
    @Test void shadowUnchanged_liveChanged_isKeptWithoutWork() { expect(decide(file("a"), file("b"), file("a")), Op.Action.NONE, Rule.UNCHANGED); }
    @Test void excludedPathIsNeverTouched() { expect(decide(file("a"), file("a"), file("b"), Decision.EXCLUDE, null), Op.Action.NONE, Rule.EXCLUDED); }

    // --- conflicts and the policy that settles them ---
    @Test void conflict_bothModified_ask() {
        Op op = decide(file("a"), file("b"), file("c"));
        expect(op, Op.Action.ASK, Rule.ASK);
        assertEquals(ConflictKind.BOTH_MODIFIED, op.conflict());
    }
    @Test void conflict_bothModified_keepLive() { expect(decide(file("a"), file("b"), file("c"), Decision.KEEP_LIVE, null), Op.Action.NONE, Rule.KEEP_LIVE); }
    @Test void conflict_bothModified_takeShadow() { expect(decide(file("a"), file("b"), file("c"), Decision.TAKE_SHADOW, null), Op.Action.WRITE, Rule.TAKE_SHADOW); }
    @Test @DisplayName("rule 4: both modified, policy hybrid -> keep both, name points to the shadow's")
    void rule4_hybrid() { expect(decide(file("a"), file("b"), file("c"), Decision.HYBRID, null), Op.Action.HYBRID, Rule.HYBRID); }
    @Test void conflict_bothModified_threeWayClean() {
        Op op = decide(file("a"), file("b"), file("c"), Decision.THREE_WAY, null, f -> Optional.of(new Planner.Merged("m", 7)), false);
        expect(op, Op.Action.MERGE3, Rule.THREE_WAY_MERGED);
        assertEquals("m", op.mergedSha256());
        assertEquals(7, op.bytes());
    }
    @Test void conflict_bothModified_threeWayUnclean_asks() {
        expect(decide(file("a"), file("b"), file("c"), Decision.THREE_WAY, null), Op.Action.ASK, Rule.ASK);
    }
    @Test void conflict_threeWay_metadataChangedOnBothSides_asks() {
        Planner.TextMerger clean = f -> Optional.of(new Planner.Merged("m", 7));
        expect(decide(file("a", 0644), file("b", 0600), file("c", 0640), Decision.THREE_WAY, null, clean, false), Op.Action.ASK, Rule.ASK);
        expect(decide(file("a"), owned(file("b"), 5), owned(file("c"), 6), Decision.THREE_WAY, null, clean, false), Op.Action.ASK, Rule.ASK);
        expect(decide(withXattr(file("a"), "user.k", "MA=="), withXattr(file("b"), "user.k", "MQ=="), withXattr(file("c"), "user.k", "Mg=="),
                Decision.THREE_WAY, null, clean, false), Op.Action.ASK, Rule.ASK);
    }
    @Test void conflict_threeWay_metadataChangedOnOneSide_merges() {
        Planner.TextMerger clean = f -> Optional.of(new Planner.Merged("m", 7));
        expect(decide(file("a", 0644), file("b", 0600), file("c", 0644), Decision.THREE_WAY, null, clean, false), Op.Action.MERGE3, Rule.THREE_WAY_MERGED);
        expect(decide(file("a", 0644), file("b", 0600), file("c", 0600), Decision.THREE_WAY, null, clean, false), Op.Action.MERGE3, Rule.THREE_WAY_MERGED);
    }
    @Test void conflict_threeWayOnSymlinks_asks() {
        expect(decide(link("a"), link("b"), link("c"), Decision.THREE_WAY, null, f -> Optional.of(new Planner.Merged("m", 1)), false), Op.Action.ASK, Rule.ASK);
    }
    // --- the operator's line merge: offered only where diff3 merges cleanly, then executable ---
    @Test void conflict_ask_cleanLineMerge_isOfferedNotTaken() {
        Op op = decide(file("a"), file("b"), file("c"), Decision.ASK, null, f -> Optional.of(new Planner.Merged("m", 7)), false);
        expect(op, Op.Action.ASK, Rule.ASK);
        assertEquals(new Planner.Merged("m", 7), op.lineMerge());
        assertEquals(0, op.bytes(), "nothing written until an operator chooses it");
        assertEquals(java.util.List.of(Decision.KEEP_LIVE, Decision.TAKE_SHADOW, Decision.HYBRID, Decision.THREE_WAY), Planner.choices(op));
    }
    @Test void conflict_ask_uncleanLineMerge_isNotOffered() {
        Op op = decide(file("a"), file("b"), file("c"));
        assertNull(op.lineMerge());
        assertFalse(Planner.choices(op).contains(Decision.THREE_WAY));
    }
    @Test void conflict_ask_lineMergeNeverOfferedForNonFilesOrClashingMetadata() {
        Planner.TextMerger clean = f -> Optional.of(new Planner.Merged("m", 1));
        assertNull(decide(link("a"), link("b"), link("c"), Decision.ASK, null, clean, false).lineMerge());
        assertNull(decide(file("a"), file("b"), null, Decision.ASK, null, clean, false).lineMerge(), "delete-modify");
        assertNull(decide(file("a", 0644), file("b", 0600), file("c", 0640), Decision.ASK, null, clean, false).lineMerge());
    }
    @Test void conflict_operatorChoosesLineMerge_clean_merges() {
        Op op = decide(file("a"), file("b"), file("c"), Decision.ASK, Decision.THREE_WAY, f -> Optional.of(new Planner.Merged("m", 7)), false);
        expect(op, Op.Action.MERGE3, Rule.THREE_WAY_MERGED);
        assertEquals(Decision.THREE_WAY, op.resolution());
        assertEquals("m", op.mergedSha256());
        assertEquals(7, op.bytes());
    }
    @Test void conflict_operatorChoosesLineMerge_noLongerClean_asksAgain() {
        expect(decide(file("a"), file("b"), file("c"), Decision.ASK, Decision.THREE_WAY), Op.Action.ASK, Rule.ASK);
    }
    @Test void plan_lineMergeOfferedIsTheOneApproved_andRefusedWhereNotOffered() {
        PathFacts clean = PathFacts.fromEntries("etc/a.conf", file("a"), file("b"), file("c"), false);
        PathFacts unclean = PathFacts.fromEntries("etc/b.conf", file("a"), file("d"), file("e"), false);
        MergePlan plan = new MergePlan(Planner.plan(java.util.List.of(clean, unclean), p -> Decision.ASK, p -> null,
                f -> f.path().equals("etc/a.conf") ? Optional.of(new Planner.Merged("m", 9)) : Optional.empty()), null);
        // settled from the plan's JSON alone (no trees): the merge offered is the one planned
        MergePlan resolved = MergePlan.fromJson(plan.toJson()).withResolution("etc/a.conf", Decision.THREE_WAY);
        expect(resolved.op("etc/a.conf"), Op.Action.MERGE3, Rule.THREE_WAY_MERGED);
        assertEquals("m", resolved.op("etc/a.conf").mergedSha256());
        assertEquals(9, resolved.bytesToCopy());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> plan.withResolution("etc/b.conf", Decision.THREE_WAY));
        assertTrue(e.getMessage().contains("cannot be settled with three-way"), e.getMessage());
    }

    @Test void conflict_bothCreatedDifferently() {
        Op op = decide(null, file("l"), file("s"));
        expect(op, Op.Action.ASK, Rule.ASK);
        assertEquals(ConflictKind.BOTH_CREATED, op.conflict());
    }
    @Test void conflict_liveModified_shadowDeleted() {
        Op op = decide(file("a"), file("b"), null);
        assertEquals(ConflictKind.DELETE_MODIFY, op.conflict());
        expect(op, Op.Action.ASK, Rule.ASK);
        expect(decide(file("a"), file("b"), null, Decision.TAKE_SHADOW, null), Op.Action.DELETE, Rule.TAKE_SHADOW);
        expect(decide(file("a"), file("b"), null, Decision.HYBRID, null), Op.Action.ASK, Rule.ASK);
    }
    @Test void conflict_liveDeleted_shadowModified() {
        Op op = decide(file("a"), null, file("c"));
        assertEquals(ConflictKind.MODIFY_DELETE, op.conflict());
        expect(op, Op.Action.ASK, Rule.ASK);
        expect(decide(file("a"), null, file("c"), Decision.KEEP_LIVE, null), Op.Action.NONE, Rule.KEEP_LIVE);
        expect(decide(file("a"), null, file("c"), Decision.TAKE_SHADOW, null), Op.Action.WRITE, Rule.TAKE_SHADOW);
    }
    @Test void conflict_directoryRemovedInShadow_liveAddedFiles() {
        Op op = decide(dir(), dir(), null, Decision.ASK, null, Planner.NO_MERGE, true);
        assertEquals(ConflictKind.DELETE_MODIFY, op.conflict());
        expect(op, Op.Action.ASK, Rule.ASK);
    }
    @Test void conflict_typeChangedDifferently() { expect(decide(file("a"), link("x"), dir()), Op.Action.ASK, Rule.ASK); }
    @Test void conflict_hybridOnDirectory_asks() { expect(decide(dir(), dir(0700), dir(0750), Decision.HYBRID, null), Op.Action.ASK, Rule.ASK); }
    @Test void conflict_metadataBothChanged() { expect(decide(file("a", 0644), file("a", 0600), file("a", 0640)), Op.Action.ASK, Rule.ASK); }

    @Test void rule4_rerunAfterHybridCopy_isDone() {
        Entry s = file("c");
        Op op = Planner.decide(PathFacts.fromEntries("usr/x", file("a"), link("x.sp-shadow-" + s.ino()), s, false), Decision.HYBRID, null, Planner.NO_MERGE);
        expect(op, Op.Action.NONE, Rule.HYBRID_DONE);
    }

    // --- the plan settled as a tree: every operation can execute ---
    static java.util.List<Op> plan(Decision policy, PathFacts... facts) {
        return Planner.plan(java.util.List.of(facts), p -> policy, p -> null, Planner.NO_MERGE);
    }
    static Op at(java.util.List<Op> ops, String path) {
        return ops.stream().filter(o -> o.path().equals(path)).findFirst().orElseThrow();
    }
    @Test void tree_shadowDropsDirectory_liveKeepsAChild_directoryKept() {
        var ops = plan(Decision.KEEP_LIVE, PathFacts.fromEntries("d", dir(), dir(), null, false),
                PathFacts.fromEntries("d/x", file("a"), file("b"), null, false));
        expect(at(ops, "d/x"), Op.Action.NONE, Rule.KEEP_LIVE);
        expect(at(ops, "d"), Op.Action.NONE, Rule.KEPT_FOR_LIVE_ENTRIES);
    }
    @Test void tree_shadowDropsDirectory_childrenAllRemoved_directoryDeleted() {
        var ops = plan(Decision.KEEP_LIVE, PathFacts.fromEntries("d", dir(), dir(), null, false),
                PathFacts.fromEntries("d/x", file("a"), file("a"), null, false));
        expect(at(ops, "d"), Op.Action.DELETE, Rule.TAKE_SHADOW_DELETE);
    }
    @Test void tree_shadowRetypesDirectory_liveKeepsAChild_isAConflictThePolicySettles() {
        PathFacts d = PathFacts.fromEntries("d", dir(), dir(), file("f"), false), x = PathFacts.fromEntries("d/x", file("a"), file("b"), null, false);
        Op asked = at(Planner.plan(java.util.List.of(d, x), p -> p.equals("d") ? Decision.ASK : Decision.KEEP_LIVE, p -> null, Planner.NO_MERGE), "d");
        expect(asked, Op.Action.ASK, Rule.ASK);
        assertEquals(ConflictKind.LIVE_KEEPS_ENTRIES, asked.conflict());
        expect(at(plan(Decision.KEEP_LIVE, d, x), "d"), Op.Action.NONE, Rule.KEEP_LIVE);
        Op taken = at(Planner.plan(java.util.List.of(d, x), p -> p.equals("d") ? Decision.TAKE_SHADOW : Decision.KEEP_LIVE, p -> null, Planner.NO_MERGE), "d");
        expect(taken, Op.Action.WRITE, Rule.TAKE_SHADOW);
        expect(at(plan(Decision.TAKE_SHADOW, d, x), "d"), Op.Action.WRITE, Rule.TYPE_CHANGE); // the child goes too: nothing kept
    }
    @Test void tree_shadowWritesUnderAMissingLiveParent_isAConflictOnlyKeepLiveSettles() {
        var ops = plan(Decision.TAKE_SHADOW, PathFacts.fromEntries("d/new", null, null, file("n"), false, true));
        Op o = at(ops, "d/new");
        expect(o, Op.Action.ASK, Rule.ASK);
        assertEquals(ConflictKind.LIVE_PARENT_NOT_DIRECTORY, o.conflict());
        assertEquals(java.util.List.of(Decision.KEEP_LIVE), Planner.choices(o));
    }
    @Test void tree_shadowWritesUnderALiveEntryKeptByAConflict_isNotTaken() {
        var ops = plan(Decision.KEEP_LIVE, PathFacts.fromEntries("l", link("x"), link("y"), dir(), false),
                PathFacts.fromEntries("l/sub", null, null, dir(), false, true),
                PathFacts.fromEntries("l/sub/f", null, null, file("f"), false, true));
        expect(at(ops, "l"), Op.Action.NONE, Rule.KEEP_LIVE);
        expect(at(ops, "l/sub"), Op.Action.NONE, Rule.UNDER_KEPT_LIVE);
        expect(at(ops, "l/sub/f"), Op.Action.NONE, Rule.UNDER_KEPT_LIVE);
        var taken = plan(Decision.TAKE_SHADOW, PathFacts.fromEntries("l", link("x"), link("y"), dir(), false),
                PathFacts.fromEntries("l/sub", null, null, dir(), false, true),
                PathFacts.fromEntries("l/sub/f", null, null, file("f"), false, true));
        expect(at(taken, "l/sub/f"), Op.Action.WRITE, Rule.TAKE_SHADOW_CREATE);
    }

    // --- operator resolutions ---
    @Test void resolution_overridesAsk() {
        expect(decide(file("a"), file("b"), file("c"), Decision.ASK, Decision.TAKE_SHADOW), Op.Action.WRITE, Rule.TAKE_SHADOW);
        expect(decide(file("a"), file("b"), file("c"), Decision.ASK, Decision.KEEP_LIVE), Op.Action.NONE, Rule.KEEP_LIVE);
        expect(decide(file("a"), file("b"), file("c"), Decision.ASK, Decision.HYBRID), Op.Action.HYBRID, Rule.HYBRID);
    }
    @Test void resolution_isIgnoredWhenNoLongerAConflict() {
        expect(decide(file("a"), file("a"), file("c"), Decision.ASK, Decision.KEEP_LIVE), Op.Action.WRITE, Rule.TAKE_SHADOW_REPLACE);
    }

    // --- plan: json round trip, resolutions, counts ---
    @Test void plan_jsonRoundTrip_keepsNonUtf8Names_andResolves() {
        String weird = RelPath.join("etc", RelPath.encodeComponent(new byte[]{'c', (byte) 0xE9, '%', '\n'}));
        Op conflict = Planner.decide(PathFacts.fromEntries(weird, file("a"), file("b"), file("c"), false), Decision.ASK, null, Planner.NO_MERGE);
        Op copy = Planner.decide(PathFacts.fromEntries("usr/bin/x", file("a"), file("a"), file("cc", 04755), false), Decision.ASK, null, Planner.NO_MERGE);
        MergePlan plan = new MergePlan(java.util.List.of(conflict, copy), new DetectInfo(2, true, -1, null, null, null, 1, 1));
        MergePlan back = MergePlan.fromJson(plan.toJson());
        assertEquals(plan.toJson(), back.toJson());
        assertEquals(1, back.unresolvedConflicts().size());
        assertArrayEquals(new byte[]{'c', (byte) 0xE9, '%', '\n'}, RelPath.decodeComponent(RelPath.name(back.unresolvedConflicts().get(0).path())));
        MergePlan resolved = back.withResolution(weird, Decision.HYBRID);
        assertTrue(resolved.unresolvedConflicts().isEmpty());
        assertEquals(Map.of(Rule.HYBRID, 1L, Rule.TAKE_SHADOW_REPLACE, 1L), resolved.ruleCounts());
        assertEquals(3, resolved.bytesToCopy());
        assertEquals(2, resolved.size());
    }

    @Test void plan_conflictKindsAreWordsInTheJson_andPlansWrittenBeforeTheEnumStillParse() {
        Op conflict = Planner.decide(PathFacts.fromEntries("etc/app.conf", file("a"), file("b"), file("c"), false), Decision.ASK, null, Planner.NO_MERGE);
        MergePlan plan = new MergePlan(java.util.List.of(conflict), new DetectInfo(1, true, -1, null, null, null, 1, 1));
        String json = plan.toJson();
        assertTrue(json.matches("(?s).*\"conflict\"\\s*:\\s*\"both-modified\".*"), json);
        assertEquals(ConflictKind.BOTH_MODIFIED, MergePlan.fromJson(json).unresolvedConflicts().get(0).kind());
        // a plan held by a run (or a journal) from before: the same words, and constant names are accepted too
        assertEquals(ConflictKind.BOTH_MODIFIED, MergePlan.fromJson(json.replace("\"both-modified\"", "\"BOTH_MODIFIED\"")).op("etc/app.conf").conflict());
        for (ConflictKind k : ConflictKind.values()) assertEquals(k, ConflictKind.parse(k.word()));
        assertThrows(IllegalArgumentException.class, () -> ConflictKind.parse("both-confused"));
    }

    @Test void policy_defaults() {
        MergePolicy p = MergePolicy.defaults();
        assertEquals(Decision.EXCLUDE, p.actionFor("proc/1/status"));
        assertEquals(Decision.EXCLUDE, p.actionFor("var/cache/apt/pkgcache.bin"));
        assertEquals(Decision.KEEP_LIVE, p.actionFor("var/log/dpkg.log"));
        assertEquals(Decision.THREE_WAY, p.actionFor("etc/ssl/openssl.cnf"));
        assertEquals(Decision.ASK, p.actionFor("usr/lib/x"));
        assertEquals(Decision.ASK, p.actionFor("tmpfoo"));
        MergePolicy q = MergePolicy.of("/srv/*.conf take-shadow # comment\n/usr/** hybrid\n", "t");
        assertEquals(Decision.TAKE_SHADOW, q.actionFor("srv/a.conf"));
        assertEquals(Decision.ASK, q.actionFor("srv/x/a.conf2"));
        assertEquals(Decision.HYBRID, q.actionFor("usr/lib/x"));
        assertThrows(IllegalArgumentException.class, () -> MergePolicy.of("/x frobnicate", "t"));
    }

    @Test void relPath_roundTripsEveryByte() {
        for (int b = 1; b < 256; b++) {
            if (b == '/') continue;
            byte[] name = {(byte) b, 'x', (byte) (255 - b == '/' ? 1 : 255 - b == 0 ? 2 : 255 - b)};
            assertArrayEquals(name, RelPath.decodeComponent(RelPath.encodeComponent(name)));
        }
        assertEquals("caf\u00e9", RelPath.encodeComponent("caf\u00e9".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        assertEquals("caf%E9", RelPath.encodeComponent(new byte[]{'c', 'a', 'f', (byte) 0xE9}));
        assertThrows(IllegalArgumentException.class, () -> RelPath.split("a/../b"));
    }
}
