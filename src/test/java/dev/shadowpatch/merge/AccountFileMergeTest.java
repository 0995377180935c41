package dev.shadowpatch.merge;

import dev.shadowpatch.merge.fs.Tree;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The account databases merged record by record: one case a row ("|" separates lines, "-" no merge:
 * the operator decides). The base is root, daemon and users.
 */
class AccountFileMergeTest {
    static final String BASE = "root:x:0:|daemon:x:1:|users:x:100:";

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = ';', textBlock = """
            # case                                               ; file       ; live                                                ; shadow                                                   ; merged
            both added a group (the release upgrade's and an admin's) ; etc/group ; root:x:0:|daemon:x:1:|users:x:100:|alice:x:1000:  ; root:x:0:|daemon:x:1:|users:x:100:|_ssh:x:101:          ; root:x:0:|daemon:x:1:|users:x:100:|alice:x:1000:|_ssh:x:101:
            both added the same group alike                      ; etc/group  ; root:x:0:|daemon:x:1:|users:x:100:|_ssh:x:101:          ; root:x:0:|daemon:x:1:|users:x:100:|_ssh:x:101:          ; root:x:0:|daemon:x:1:|users:x:100:|_ssh:x:101:
            the shadow changed a group the live VM left alone    ; etc/group  ; root:x:0:|daemon:x:1:|users:x:100:|alice:x:1000:        ; root:x:0:|daemon:x:1:|users:x:100:bob                   ; root:x:0:|daemon:x:1:|users:x:100:bob|alice:x:1000:
            the shadow removed a group the live VM left alone    ; etc/group  ; root:x:0:|daemon:x:1:|users:x:100:|alice:x:1000:        ; root:x:0:|users:x:100:                                   ; root:x:0:|users:x:100:|alice:x:1000:
            both changed one group differently                   ; etc/group  ; root:x:0:|daemon:x:1:|users:x:100:alice                 ; root:x:0:|daemon:x:1:|users:x:100:bob                   ; -
            the shadow removed a group the live VM changed       ; etc/group  ; root:x:0:|daemon:x:1:alice|users:x:100:                 ; root:x:0:|users:x:100:                                   ; -
            two new names for one group ID                       ; etc/group  ; root:x:0:|daemon:x:1:|users:x:100:|alice:x:101:         ; root:x:0:|daemon:x:1:|users:x:100:|_ssh:x:101:          ; -
            a new name for an ID the base has                    ; etc/group  ; root:x:0:|daemon:x:1:|users:x:100:|alice:x:1000:        ; root:x:0:|daemon:x:1:|users:x:100:|wheel:x:0:           ; -
            one ID for two names in gshadow is no ID             ; etc/gshadow; root:x:0:|daemon:x:1:|users:x:100:|alice:x:101:         ; root:x:0:|daemon:x:1:|users:x:100:|_ssh:x:101:          ; root:x:0:|daemon:x:1:|users:x:100:|alice:x:101:|_ssh:x:101:
            a line without a name                                ; etc/group  ; root:x:0:|daemon:x:1:|users:x:100:|:x:5:                ; root:x:0:|daemon:x:1:|users:x:100:|_ssh:x:101:          ; -
            a name twice                                         ; etc/group  ; root:x:0:|daemon:x:1:|users:x:100:|root:x:7:            ; root:x:0:|daemon:x:1:|users:x:100:|_ssh:x:101:          ; -
            """)
    void merges(String name, String file, String live, String shadow, String merged) {
        Optional<byte[]> got = AccountFileMerge.merge(file, lines(BASE), lines(live), lines(shadow));
        if (merged.equals("-")) {
            assertThat(got).as(name).isEmpty();
        } else {
            assertThat(got).as(name).isPresent();
            assertThat(new String(got.get(), StandardCharsets.UTF_8)).as(name).isEqualTo(merged.replace('|', '\n') + "\n");
        }
    }

    static byte[] lines(String s) {
        return (s.replace('|', '\n') + "\n").getBytes(StandardCharsets.UTF_8);
    }

    @TempDir Path tmp;

    /**
     * Through the plan's text merge, on real files: diff3 gives up on the two appended lines and the
     * record merge takes both; any other file with the same collision stays a conflict.
     */
    @Test
    void whereDiff3GivesUpOnTheAccountFilesTheRecordsAreMerged() throws Exception {
        MergeTrees t = new MergeTrees(tmp.resolve("base"), tmp.resolve("live"), tmp.resolve("shadow"));
        String base = "mkdir etc && printf 'root:x:0:\\nusers:x:100:\\n' | tee etc/group > etc/other";
        Sh.forkTrees(t, base, "printf 'alice:x:1000:\\n' | tee -a etc/group >> etc/other",
                "printf '_ssh:x:101:\\n' | tee -a etc/group >> etc/other");
        try (Tree b = Tree.open(t.base(), "base"); Tree l = Tree.open(t.live(), "live"); Tree s = Tree.open(t.shadow(), "shadow")) {
            TextMerge merger = new TextMerge(b, l, s, TextMerge.DIFF3, Duration.ofSeconds(30));
            byte[] expected = "root:x:0:\nusers:x:100:\nalice:x:1000:\n_ssh:x:101:\n".getBytes(StandardCharsets.UTF_8);
            assertThat(merger.mergedContent("etc/group", true)).isEqualTo(expected);
            PathFacts f = PathFacts.fromEntries("etc/group", PlannerCaseTableTest.file("b"), PlannerCaseTableTest.file("l"),
                    PlannerCaseTableTest.file("s"), false);
            assertThat(merger.merge(f)).contains(new Planner.Merged(TextMerge.sha256(expected), expected.length));
            assertThat(merger.mergedContent("etc/other", true)).as("not an account file: diff3's conflict stands").isNull();
        }
    }
}
