package dev.shadowpatch.merge;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The real-package test. A Debian 12 bookworm root (mmdebstrap, mirror from this host's apt
 * configuration, cached under /var/cache/shadowpatch) is the base; live and shadow are overlayfs
 * mounts on it. The shadow gets the bookworm-security openssl and libssl3 with dpkg -i in a chroot;
 * the live tree is changed as a running server would be. After the merge the live tree must equal
 * a reference made by applying the same upgrade in place to a copy of the live tree, entry by
 * entry, logs aside, and dpkg --verify must be clean. Needs root and (for the first run) network.
 * See ops/testbed/realpkg-bed.sh.
 */
@Tag("slow")
@Timeout(900)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RealPackageMergeTest {
    static Path work;
    static MergeTrees trees;
    static final Path BED = Path.of(System.getProperty("user.dir"), "ops/testbed/realpkg-bed.sh");

    @BeforeAll
    static void bed() throws Exception {
        assertEquals("0", Sh.run("id -u").strip(), "the real-package test needs root (mounts, chroot, dpkg)");
        work = Files.createTempDirectory(Path.of("/var/tmp"), "sp-realpkg-");
        Sh.run("'" + BED + "' setup '" + work + "'");
        trees = new MergeTrees(work.resolve("base"), work.resolve("live"), work.resolve("shadow"));
    }

    @AfterAll
    static void teardown() {
        if (work != null) Sh.run("'" + BED + "' teardown '" + work + "'");
    }

    @Test @Order(1)
    void changeLogPlanEqualsFullScanPlan_andTheLogMissedNothing() throws Exception {
        MergeEngine engine = new MergeEngine(MergePolicy.defaults());
        MergePlan full = engine.plan(trees, Optional.empty());
        MergePlan withLog = engine.plan(trees, Optional.of(work.resolve("changes.log")));
        assertEquals(full.ruleCounts(), withLog.ruleCounts());
        assertEquals(java.util.List.of(), withLog.detect().logMissed());
        MergePlan trusted = new MergeEngine(MergePolicy.defaults().withVerifyChangeLog(false)).plan(trees, Optional.of(work.resolve("changes.log")));
        assertEquals(full.ruleCounts(), trusted.ruleCounts());
        assertTrue(trusted.detect().pathsScanned() < full.detect().pathsScanned() / 5,
                "log-limited detect scans few paths: " + trusted.detect().pathsScanned() + " vs " + full.detect().pathsScanned());
    }

    @Test @Order(2)
    void mergedLiveTreeEqualsInPlaceUpgrade_andDpkgVerifyIsClean() throws Exception {
        MergeEngine engine = new MergeEngine(MergePolicy.defaults());
        MergePlan plan = engine.plan(trees, Optional.of(work.resolve("changes.log")));
        assertEquals(java.util.List.of(), plan.unresolvedConflicts(), "a security upgrade and ordinary server activity do not conflict");
        assertTrue(plan.ruleCounts().getOrDefault(Rule.TAKE_SHADOW_REPLACE, 0L) > 50, plan.ruleCounts().toString());
        MergeReport report = engine.execute(engine.replan(MergePlan.fromJson(plan.toJson()), trees), trees);
        assertTrue(report.complete(), report.left().toString());
        System.out.println("real-package merge: " + report.toJson());

        // var/log: logs aside. var/cache/ldconfig/aux-cache: ldconfig's cache of inode numbers and
        // ctimes of libraries, which necessarily differ between two trees. tmp: excluded by policy.
        String diff = Sh.diff(work.resolve("ref"), work.resolve("live"),
                "/var/log", "/tmp", "/var/cache/ldconfig/aux-cache");
        assertEquals("", diff, "merged live tree differs from the in-place upgrade");

        String pkgs = Files.readString(work.resolve("packages")).replace('\n', ' ');
        assertEquals("", Sh.run("chroot '" + work.resolve("live") + "' dpkg --verify " + pkgs), "dpkg --verify");
        String versions = Sh.run("chroot '" + work.resolve("live") + "' dpkg-query -W -f '${Package} ${Version}\\n' " + pkgs);
        String refVersions = Sh.run("chroot '" + work.resolve("ref") + "' dpkg-query -W -f '${Package} ${Version}\\n' " + pkgs);
        assertEquals(refVersions, versions);
        // the live server's own changes survived
        assertTrue(Sh.run("chroot '" + work.resolve("live") + "' getent passwd alice").contains("added on live"));
        assertTrue(Files.readString(work.resolve("live/etc/bash.bashrc")).contains("edited on the live server"));
        assertFalse(Files.exists(work.resolve("live/etc/motd")));
        assertEquals(200, Integer.parseInt(Sh.run("ls '" + work.resolve("live/srv/data") + "' | wc -l").strip()));
    }

    @Test @Order(3)
    void secondRunFindsNothingLeftToDo() throws Exception {
        MergeEngine engine = new MergeEngine(MergePolicy.defaults());
        MergePlan again = engine.plan(trees, Optional.empty());
        for (Op o : again.ops()) assertEquals(Op.Action.NONE, o.action(), "/" + o.path() + " " + o.rule());
    }
}
