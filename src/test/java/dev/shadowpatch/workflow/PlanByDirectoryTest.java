package dev.shadowpatch.workflow;

import dev.shadowpatch.merge.Decision;
import dev.shadowpatch.merge.DetectInfo;
import dev.shadowpatch.merge.Entry;
import dev.shadowpatch.merge.MergePlan;
import dev.shadowpatch.merge.PathFacts;
import dev.shadowpatch.merge.Planner;
import dev.shadowpatch.merge.fs.FileType;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The plan by directory: counts per rule and bytes per directory (two levels), and every path left out with why. */
class PlanByDirectoryTest {
    static Entry file(String sha, long size) {
        return new Entry(FileType.FILE, 0644, 0, 0, size, null, null, null, Map.of(), sha, 1, 1, 0, 0);
    }
    static Entry dir() {
        return new Entry(FileType.DIR, 0755, 0, 0, 0, null, null, null, Map.of(), null, 2, 2, 0, 0);
    }
    static PathFacts replaced(String path, long size) {
        return PathFacts.fromEntries(path, file("a", 1), file("a", 1), file("b" + size, size), false);
    }

    static MergePlan plan(List<PathFacts> facts, Map<String, String> notScanned, DetectInfo detect) {
        return new MergePlan(Planner.plan(facts, notScanned, p -> p.startsWith("var/cache") ? Decision.EXCLUDE : Decision.KEEP_LIVE,
                p -> null, Planner.NO_MERGE), detect);
    }

    @Test
    void countsPerRuleAndBytesPerDirectoryOfTheGuestTwoLevelsDeepAcrossFileSystems() {
        MergePlan root = plan(List.of(replaced("usr/lib/x/a.so", 100), replaced("usr/lib/b.so", 20), replaced("etc/hosts", 3),
                PathFacts.fromEntries("etc/new.conf", null, null, file("n", 5), false), replaced("vmlinuz", 7)), Map.of(), null);
        MergePlan boot = plan(List.of(replaced("grub/grub.cfg", 9)), Map.of(), null);
        PlanByDirectory p = PlanByDirectory.of(new FileSystemPlans(Map.of("/", root, "/boot", boot)));
        assertThat(p.operations()).isEqualTo(6);
        assertThat(p.bytesToCopy()).isEqualTo(100 + 20 + 3 + 5 + 7 + 9);
        assertThat(p.directories()).extracting(PlanByDirectory.Directory::directory)
                .containsExactly("/", "/boot/grub", "/etc", "/usr/lib");
        PlanByDirectory.Directory usrLib = p.directories().get(3);
        assertThat(usrLib.operations()).isEqualTo(2);
        assertThat(usrLib.bytes()).isEqualTo(120);
        assertThat(usrLib.rules()).containsExactly(Map.entry("take-shadow-replace (rule 3)", 2L));
        assertThat(p.directories().get(2).rules())
                .containsEntry("take-shadow-replace (rule 3)", 1L).containsEntry("take-shadow-create (rule 2)", 1L);
        assertThat(p.skipped()).isEmpty();
    }

    @Test
    void everyPathLeftOutIsListedWithWhyAndCountedWholeBeyondTheList() {
        List<PathFacts> facts = new ArrayList<>();
        facts.add(PathFacts.fromEntries("var/cache/x", file("a", 1), file("a", 1), file("b", 1), false)); // excluded
        facts.add(PathFacts.fromEntries("srv/d", dir(), dir(), null, false)); // the shadow removes it ...
        facts.add(PathFacts.fromEntries("srv/d/kept", file("a", 1), file("l", 1), null, false)); // ... the live VM keeps an entry
        facts.add(PathFacts.fromEntries("mnt/other", null, null, null, false));
        List<String> missed = new ArrayList<>();
        for (int i = 0; i < PlanByDirectory.MAX_LISTED + 5; i++) missed.add("usr/bin/t" + i);
        DetectInfo detect = new DetectInfo(10, true, 3, missed, List.of("line 7: not a path"), List.of(), 0, 0);
        MergePlan root = plan(facts, Map.of("mnt/other", "another file system"), detect);
        PlanByDirectory p = PlanByDirectory.of(new FileSystemPlans(Map.of("/", root)));
        assertThat(p.skippedCounts()).containsEntry("excluded by the merge policy", 1L)
                .containsEntry("not scanned: nothing in it merged", 1L)
                .containsEntry("shadow's change not taken: the live VM keeps it", 1L)
                .containsEntry("missed by the change log, found by the scan (merged)", (long) PlanByDirectory.MAX_LISTED + 5)
                .containsEntry("change-log line refused", 1L);
        assertThat(p.skipped()).filteredOn(s -> s.reason() == PlanByDirectory.Reason.LOG_MISSED).hasSize(PlanByDirectory.MAX_LISTED);
        assertThat(p.skipped()).anySatisfy(s -> {
            assertThat(s.path()).isEqualTo("/mnt/other");
            assertThat(s.detail()).isEqualTo("another file system");
        });
        assertThat(p.skipped()).anySatisfy(s -> {
            assertThat(s.path()).isEqualTo("/srv/d");
            assertThat(s.reason()).isEqualTo(PlanByDirectory.Reason.NOT_TAKEN);
        });
        assertThat(p.skipped()).anySatisfy(s -> assertThat(s.path()).isEqualTo("/var/cache/x"));
        // the audit reads it back from its JSON
        PlanByDirectory back = PlanByDirectory.fromJson(p.toJson());
        assertThat(back).isEqualTo(p);
        assertThat(new String(p.toJson())).contains("\"reason\":\"excluded by the merge policy\"");
    }

    @Test
    void aPathIsCountedUnderTheDirectoryItIsInCutToTwoLevels() {
        assertThat(PlanByDirectory.topDirectory("/vmlinuz")).isEqualTo("/");
        assertThat(PlanByDirectory.topDirectory("/etc")).isEqualTo("/");
        assertThat(PlanByDirectory.topDirectory("/etc/hosts")).isEqualTo("/etc");
        assertThat(PlanByDirectory.topDirectory("/etc/apt/sources.list")).isEqualTo("/etc/apt");
        assertThat(PlanByDirectory.topDirectory("/var/lib/dpkg/info/x.list")).isEqualTo("/var/lib");
    }
}
