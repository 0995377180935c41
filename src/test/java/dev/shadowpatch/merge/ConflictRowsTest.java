package dev.shadowpatch.merge;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

import static dev.shadowpatch.merge.PlannerCaseTableTest.*;
import static dev.shadowpatch.merge.SideChange.Kind.*;
import static org.junit.jupiter.api.Assertions.*;

/** The approval form's conflict rows: what each side did, the bounded diff (or why none), the choices and the one preselected. */
@Timeout(120)
class ConflictRowsTest {
    @TempDir Path tmp;

    /** Contents by side and path; a read of anything else fails the test (the builder must not read it). */
    static final class Texts implements ConflictRows.Contents {
        final Map<String, byte[]> texts = new HashMap<>();
        Texts put(ConflictRows.Side side, String path, String text) {
            texts.put(side + " " + path, text.getBytes(StandardCharsets.UTF_8));
            return this;
        }
        @Override public byte[] read(ConflictRows.Side side, String path, long max) {
            byte[] t = texts.get(side + " " + path);
            if (t == null) throw new AssertionError("read of " + side + " " + path + " not expected");
            return t;
        }
    }

    static Entry text(String content) { return text(content, 0644); }
    static Entry text(String content, int mode) {
        return new Entry(dev.shadowpatch.merge.fs.FileType.FILE, mode, 0, 0, content.getBytes(StandardCharsets.UTF_8).length, null, null, null,
                Map.of(), TextMerge.sha256(content.getBytes(StandardCharsets.UTF_8)), 1, 1, 0, 0);
    }

    static Conflict conflict(String path, Entry b, Entry l, Entry s, ConflictKind kind, Decision policy, List<Decision> choices) {
        return new Conflict(path, kind, policy, b, l, s, choices, null);
    }
    static Conflict conflict(String path, Entry b, Entry l, Entry s, ConflictKind kind) {
        return conflict(path, b, l, s, kind, Decision.ASK, List.of(Decision.KEEP_LIVE, Decision.TAKE_SHADOW));
    }

    static ConflictRow one(Conflict c, ConflictRows.Contents contents) {
        return new ConflictRows().add(List.of(c), p -> "/" + p, contents).rows().get(0);
    }

    @Test
    void eachSideSaysWhatItDidSinceTheBase() {
        assertEquals(List.of(CREATED), SideChange.between(null, file("a"), null).kinds());
        assertEquals(List.of(DELETED), SideChange.between(file("a"), null, null).kinds());
        assertEquals(List.of(TYPE_CHANGED), SideChange.between(file("a"), link("x"), null).kinds());
        assertEquals(List.of(CONTENT_CHANGED), SideChange.between(file("a"), file("b"), null).kinds());
        assertEquals(List.of(CONTENT_CHANGED), SideChange.between(link("x"), link("y"), null).kinds());
        assertEquals(List.of(MODE_CHANGED), SideChange.between(file("a", 0644), file("a", 0600), null).kinds());
        assertEquals(List.of(OWNER_CHANGED), SideChange.between(file("a"), owned(file("a"), 33), null).kinds());
        assertEquals(List.of(XATTRS_CHANGED), SideChange.between(file("a"), withXattr(file("a"), "security.capability", "AQ=="), null).kinds());
        assertEquals(List.of(CONTENT_CHANGED, MODE_CHANGED, OWNER_CHANGED),
                SideChange.between(file("a", 0644), owned(file("bb", 0755), 5), null).kinds());
        assertEquals(List.of(UNCHANGED), SideChange.between(dir(), dir(), null).kinds());
        SideChange mode = SideChange.between(file("a", 0644), file("a", 0600), null);
        assertEquals("mode 0644 -> 0600", mode.detail());
        assertTrue(SideChange.between(file("a"), owned(file("a"), 33), null).detail().contains("owner 0:0 -> 33:33"));
        assertTrue(SideChange.between(file("a"), withXattr(file("a"), "security.capability", "AQ=="), null).detail().contains("security.capability"));
    }

    @Test
    void contentOfEqualSizeWithoutHashesIsComparedFromWhatWasReadOrSaidNotToBe() {
        Entry b = new Entry(dev.shadowpatch.merge.fs.FileType.FILE, 0644, 0, 0, 3, null, null, null, Map.of(), null, 1, 1, 0, 0);
        Entry l = new Entry(dev.shadowpatch.merge.fs.FileType.FILE, 0644, 0, 0, 3, null, null, null, Map.of(), null, 2, 1, 9, 0);
        assertEquals(List.of(CONTENT_CHANGED), SideChange.between(b, l, false).kinds());
        assertEquals(List.of(UNCHANGED), SideChange.between(b, l, true).kinds());
        assertEquals(List.of(CONTENT_NOT_COMPARED), SideChange.between(b, l, null).kinds());
    }

    @Test
    void aRowPerKindOfConflictWithBothSidesAndTheDefault() {
        var rows = new ConflictRows().add(List.of(
                conflict("etc/new.conf", null, text("l\n"), text("s\n"), ConflictKind.BOTH_CREATED),
                conflict("etc/gone.conf", text("b\n"), text("l\n"), null, ConflictKind.DELETE_MODIFY),
                conflict("etc/kept.conf", text("b\n"), null, text("s\n"), ConflictKind.MODIFY_DELETE),
                conflict("usr/lib/x", file("a"), link("x.1"), dir(), ConflictKind.BOTH_MODIFIED)), p -> "/" + p, new Texts()
                .put(ConflictRows.Side.LIVE, "etc/new.conf", "l\n").put(ConflictRows.Side.SHADOW, "etc/new.conf", "s\n")
                .put(ConflictRows.Side.BASE, "etc/gone.conf", "b\n").put(ConflictRows.Side.LIVE, "etc/gone.conf", "l\n")
                .put(ConflictRows.Side.BASE, "etc/kept.conf", "b\n").put(ConflictRows.Side.SHADOW, "etc/kept.conf", "s\n")).rows();
        assertEquals(List.of("/etc/new.conf", "/etc/gone.conf", "/etc/kept.conf", "/usr/lib/x"), rows.stream().map(ConflictRow::path).toList());
        assertEquals(List.of(CREATED), rows.get(0).live().kinds());
        assertEquals(List.of(CREATED), rows.get(0).shadow().kinds());
        assertEquals(List.of(CONTENT_CHANGED), rows.get(1).live().kinds());
        assertEquals(List.of(DELETED), rows.get(1).shadow().kinds());
        assertEquals(List.of(DELETED), rows.get(2).live().kinds());
        assertEquals(List.of(CONTENT_CHANGED), rows.get(2).shadow().kinds());
        assertEquals(List.of(TYPE_CHANGED), rows.get(3).live().kinds());
        assertEquals(List.of(TYPE_CHANGED), rows.get(3).shadow().kinds());
        assertTrue(rows.get(3).diff().note().contains("not a regular file"), rows.get(3).diff().note());
        assertTrue(rows.get(1).diff().shadow().contains("-b"), "the shadow deleted it: every base line removed");
        for (ConflictRow r : rows) assertEquals(Decision.KEEP_LIVE, r.preselected(), "policy ask: what the live VM has stays");
        assertEquals("keep the live VM's version", rows.get(0).choices().get(0).label());
    }

    @Test
    void thePolicysDecisionIsPreselectedWhereTheConflictOffersIt() {
        assertEquals(Decision.HYBRID, ConflictRow.preselect(Decision.HYBRID, List.of(Decision.KEEP_LIVE, Decision.TAKE_SHADOW, Decision.HYBRID)));
        assertEquals(Decision.KEEP_LIVE, ConflictRow.preselect(Decision.THREE_WAY, List.of(Decision.KEEP_LIVE, Decision.TAKE_SHADOW)));
        assertEquals(Decision.KEEP_LIVE, ConflictRow.preselect(Decision.TAKE_SHADOW, List.of(Decision.KEEP_LIVE)), "not scanned: keep-live only");
    }

    @Test
    void theDiffShowsEachSidesChangeAgainstTheBase() {
        ConflictRow row = one(conflict("etc/app.conf", text("a=1\nb=2\n"), text("a=LIVE\nb=2\n"), text("a=1\nb=SHADOW\n"),
                ConflictKind.BOTH_MODIFIED), new Texts().put(ConflictRows.Side.BASE, "etc/app.conf", "a=1\nb=2\n")
                .put(ConflictRows.Side.LIVE, "etc/app.conf", "a=LIVE\nb=2\n").put(ConflictRows.Side.SHADOW, "etc/app.conf", "a=1\nb=SHADOW\n"));
        assertNull(row.diff().note());
        assertTrue(row.diff().live().contains("--- base /etc/app.conf") && row.diff().live().contains("+++ live /etc/app.conf"), row.diff().live());
        assertTrue(row.diff().live().contains("-a=1\n+a=LIVE\n"), row.diff().live());
        assertFalse(row.diff().live().contains("SHADOW"));
        assertTrue(row.diff().shadow().contains("-b=2\n+b=SHADOW\n"), row.diff().shadow());
    }

    @Test
    void aLongDiffIsCutAtItsBoundsAndSaysHowMuchIsLeftOut() {
        StringBuilder b = new StringBuilder(), l = new StringBuilder();
        for (int i = 0; i < 1000; i++) { b.append("line ").append(i).append('\n'); l.append("LINE ").append(i).append('\n'); }
        ConflictRow row = one(conflict("etc/big", text(b.toString()), text(l.toString()), text(b + "x\n"), ConflictKind.BOTH_MODIFIED),
                new Texts().put(ConflictRows.Side.BASE, "etc/big", b.toString()).put(ConflictRows.Side.LIVE, "etc/big", l.toString())
                        .put(ConflictRows.Side.SHADOW, "etc/big", b + "x\n"));
        String live = row.diff().live();
        assertTrue(live.lines().count() <= ThreeWayDiff.MAX_LINES + 1, live.lines().count() + " lines");
        assertTrue(live.length() <= ThreeWayDiff.MAX_BYTES + 100);
        assertTrue(live.endsWith("more line(s) of this diff not shown]\n"), live.substring(live.length() - 80));
        assertTrue(row.diff().shadow().contains("+x"), "the short diff whole");
    }

    @Test
    void aBinaryFileHasNoDiffButSaysWhy() {
        ConflictRow row = one(conflict("usr/lib/x.so", text("\0ELF"), text("\0ELF1"), text("\0ELF2"), ConflictKind.BOTH_MODIFIED),
                new Texts().put(ConflictRows.Side.BASE, "usr/lib/x.so", "\0ELF").put(ConflictRows.Side.LIVE, "usr/lib/x.so", "\0ELF1")
                        .put(ConflictRows.Side.SHADOW, "usr/lib/x.so", "\0ELF2"));
        assertNull(row.diff().live());
        assertTrue(row.diff().note().startsWith("binary file"), row.diff().note());
        assertEquals(List.of(CONTENT_CHANGED), row.live().kinds());
    }

    @Test
    void anOversizedFileIsNotReadAndSaysSo() {
        Entry big = new Entry(dev.shadowpatch.merge.fs.FileType.FILE, 0644, 0, 0, TextMerge.MAX + 1, null, null, null, Map.of(), "f", 1, 1, 0, 0);
        ConflictRow row = one(conflict("var/big.log", text("a"), text("b"), big, ConflictKind.BOTH_MODIFIED), new Texts());
        assertTrue(row.diff().note().startsWith("too large for a text diff: " + (TextMerge.MAX + 1) + " bytes"), row.diff().note());
    }

    @Test
    void theDiffsOfAllConflictsShareOneBudgetAndTheRowsBeyondItSaySo() {
        StringBuilder b = new StringBuilder(), l = new StringBuilder();
        for (int i = 0; i < 400; i++) { b.append("base line number ").append(i).append(" of a configuration file\n"); }
        for (int i = 0; i < 400; i++) { l.append("live line number ").append(i).append(" of a configuration file\n"); }
        List<Conflict> many = new ArrayList<>();
        Texts texts = new Texts();
        for (int i = 0; i < 40; i++) {
            String p = "etc/f" + i;
            many.add(conflict(p, text(b.toString()), text(l.toString()), text(l + "s\n"), ConflictKind.BOTH_MODIFIED));
            texts.put(ConflictRows.Side.BASE, p, b.toString()).put(ConflictRows.Side.LIVE, p, l.toString()).put(ConflictRows.Side.SHADOW, p, l + "s\n");
        }
        var rows = new ConflictRows().add(many, p -> "/" + p, texts).rows();
        assertEquals(40, rows.size(), "every conflict a row, with or without its diff");
        int total = rows.stream().mapToInt(r -> r.diff().size()).sum();
        assertTrue(total <= ConflictRows.MAX_DIFF_BYTES, total + " bytes of diffs");
        assertNull(rows.get(0).diff().note());
        assertTrue(rows.get(39).diff().note().startsWith("diff left out"), rows.get(39).diff().note());
    }

    @Test
    void rowsBeyondTheirLimitAreCountedForTheFallback() {
        List<Conflict> many = new ArrayList<>();
        for (int i = 0; i <= ConflictRows.MAX_ROWS; i++) many.add(conflict("usr/x" + i, link("a"), link("b"), link("c"), ConflictKind.BOTH_MODIFIED));
        ConflictRows rows = new ConflictRows().add(many, p -> "/" + p, new Texts());
        assertEquals(ConflictRows.MAX_ROWS, rows.rows().size());
        assertEquals(1, rows.more());
        assertTrue(rows.toJson().contains("\"more\":1"));
    }

    @Test
    void onRealTreesTheLineMergeIsOfferedOnlyWhereDiff3MergesCleanly() throws Exception {
        MergeTrees t = new MergeTrees(tmp.resolve("base"), tmp.resolve("live"), tmp.resolve("shadow"));
        Sh.forkTrees(t, "mkdir -p srv && printf 'a=1\\nb=2\\nc=3\\nd=4\\ne=5\\n' > srv/clean.conf && printf 'x=1\\n' > srv/clash.conf",
                "sed -i s/a=1/a=LIVE/ srv/clean.conf && echo x=LIVE > srv/clash.conf",
                "sed -i s/e=5/e=SHADOW/ srv/clean.conf && echo x=SHADOW > srv/clash.conf && chmod 600 srv/clash.conf");
        MergeEngine engine = new MergeEngine(MergePolicy.defaults());
        MergePlan plan = engine.plan(t, Optional.empty());
        Function<String, String> guest = p -> "/data/" + p;
        List<ConflictRow> rows = engine.conflictRows(plan, t, guest, new ConflictRows()).rows();
        ConflictRow clean = rows.stream().filter(r -> r.path().equals("/data/srv/clean.conf")).findFirst().orElseThrow();
        ConflictRow clash = rows.stream().filter(r -> r.path().equals("/data/srv/clash.conf")).findFirst().orElseThrow();
        assertTrue(clean.choices().contains(ConflictRow.Choice.of(Decision.THREE_WAY)), clean.choices().toString());
        assertFalse(clash.choices().stream().anyMatch(c -> c.decision() == Decision.THREE_WAY), clash.choices().toString());
        assertTrue(clean.diff().live().contains("+a=LIVE") && clean.diff().shadow().contains("+e=SHADOW"), clean.diff().toString());
        assertEquals(List.of(CONTENT_CHANGED, MODE_CHANGED), clash.shadow().kinds());
        assertEquals(Decision.KEEP_LIVE, clean.preselected());
        String json = new ConflictRows().add(plan.unresolvedConflicts(), guest, (s, p, m) -> new byte[0]).toJson();
        assertTrue(json.contains("\"decision\":\"three-way\"") && json.contains("\"label\":\"line merge"), json);
        assertTrue(json.contains("\"kinds\":[\"changed content\""), json);
    }
}
