package dev.shadowpatch.online;

import dev.shadowpatch.merge.MergeEngine;
import dev.shadowpatch.merge.MergePlan;
import dev.shadowpatch.merge.MergePolicy;
import dev.shadowpatch.merge.MergeReport;
import dev.shadowpatch.merge.MergeTrees;
import dev.shadowpatch.restart.RestartClass;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The in-guest applier ({@code online/sp-online-apply}, run here by the host's perl on real
 * directories as root) against the reboot path's merge engine: the same plan, applied online to the
 * live tree and by the engine to a copy of it, must give the same tree (content, type, mode, owner,
 * xattrs, ACLs, file capabilities, hard links). And its faults: a path the live VM changed after the
 * plan, a link on the way, a kill half-way, a failure half-way.
 */
@Timeout(300)
class OnlineApplyTest {
    static final String BASE = "mkdir -p usr/bin usr/lib/old/sub etc srv opt/d && echo old > usr/bin/tool && echo gone > usr/lib/old/sub/f"
            + " && echo conf > etc/app.conf && echo keep > srv/data && ln -s tool usr/bin/tool-link && echo m > usr/bin/meta"
            + " && chmod 755 opt/d";
    static final String LIVE = "echo edited > srv/data && echo new > srv/data2";
    static final String SHADOW = "echo new > usr/bin/tool && chmod 4755 usr/bin/tool && rm -r usr/lib/old"
            + " && mkdir -m 750 usr/lib/new && echo lib > usr/lib/new/x.so && chown 1234:1234 usr/lib/new/x.so"
            + " && ln usr/lib/new/x.so usr/lib/new/x-hard.so && ln -s x.so usr/lib/new/x.so.1 && mkfifo -m 0640 usr/lib/new/fifo"
            + " && echo w > usr/lib/new/$'we ird\\nname\\377' && setcap cap_net_raw+ep usr/bin/meta && setfattr -n user.k -v v usr/bin/meta"
            + " && setfacl -m u:4321:rw etc/app.conf && echo conf2 >> etc/app.conf && chmod 700 opt/d && ln -sfn new-target usr/bin/tool-link";

    @TempDir Path tmp;
    Path base, live, shadow, runDir;
    String mp;
    final MergeEngine engine = new MergeEngine(MergePolicy.defaults());

    @BeforeEach
    void trees() {
        base = tmp.resolve("base");
        live = tmp.resolve("live");
        shadow = tmp.resolve("shadow");
        runDir = tmp.resolve("run");
        mp = live.toString(); // the live tree stands for a guest file system mounted there
    }

    MergePlan planned() throws IOException {
        bash("mkdir -p '" + base + "' && cd '" + base + "' && " + BASE);
        bash("cp -a '" + base + "' '" + live + "' && cp -a '" + base + "' '" + shadow + "'");
        bash("cd '" + live + "' && " + LIVE);
        bash("cd '" + shadow + "' && " + SHADOW);
        MergePlan plan = engine.plan(new MergeTrees(base, live, shadow), Optional.empty());
        assertThat(plan.unresolvedConflicts()).isEmpty();
        return plan;
    }

    OnlinePlan payload(MergePlan plan) throws IOException {
        OnlinePlan online = OnlinePlan.of(RestartClass.SERVICES, List.of("tool"), Map.of(mp, plan));
        assertThat(online.possible()).as(online.whyNot()).isTrue();
        OnlinePayload.write(online, Map.of(mp, plan), Map.of(mp, shadow), runDir, "t1");
        return online;
    }

    @Test
    void theTreeAppliedOnlineIsTheTreeTheRebootMergeWrites() throws Exception {
        MergePlan plan = planned();
        Path offline = tmp.resolve("offline");
        bash("cp -a '" + live + "' '" + offline + "'");
        OnlinePlan online = payload(plan);
        assertThat(online.steps()).extracting(s -> s.verb().word()).contains("put", "mkdir", "delete", "attrs");

        Run staged = applier("stage", Map.of());
        assertThat(staged.exit()).as(staged.err()).isZero();
        assertThat(diff(offline, live, ".sp-online-stage-t1")).as("the stage writes no live path").isEmpty();
        Run applied = applier("apply", Map.of());
        assertThat(applied.exit()).as(applied.err()).isZero();
        assertThat(applied.err()).contains("applied " + online.steps().size() + " operations");

        MergeReport offlineMerge = engine.execute(engine.replan(plan, new MergeTrees(base, offline, shadow)),
                new MergeTrees(base, offline, shadow));
        assertThat(offlineMerge.complete()).as(offlineMerge.left().toString()).isTrue();
        assertThat(diff(offline, live)).as("online and reboot merges differ").isEmpty();
        assertThat(Files.readString(live.resolve("srv/data"))).isEqualTo("edited\n");
        assertThat(bash("getcap '" + live.resolve("usr/bin/meta") + "'")).contains("cap_net_raw=ep");
        assertThat(bash("stat -c %h '" + live.resolve("usr/lib/new/x.so") + "'").strip()).isEqualTo("2");
        assertThat(bash("stat -c '%a %Y' '" + live.resolve("usr/lib/new") + "' '" + shadow.resolve("usr/lib/new") + "'").lines().distinct())
                .as("a new directory's mode and time are the shadow's").hasSize(1);
        try (var left = Files.list(live)) {
            assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".sp-online-stage"));
        }
        Run again = applier("apply", Map.of());
        assertThat(again.exit()).isZero();
        assertThat(again.err()).contains("applied before");
    }

    @Test
    void aPathTheLiveVmChangedAfterThePlanStopsTheStageBeforeAnyWrite() throws Exception {
        MergePlan plan = planned();
        payload(plan);
        bash("cd '" + live + "' && echo mine > usr/bin/tool && rm usr/bin/meta");
        Path before = tmp.resolve("before");
        bash("cp -a '" + live + "' '" + before + "'");

        Run staged = applier("stage", Map.of());
        assertThat(staged.exit()).isEqualTo(3);
        assertThat(staged.err()).contains("changed since the plan: " + mp + "/usr/bin/tool (planned 32768:")
                .contains("changed since the plan: " + mp + "/usr/bin/meta").contains("nothing was written");
        assertThat(diff(before, live)).isEmpty();
        Run applied = applier("apply", Map.of());
        assertThat(applied.exit()).isEqualTo(2);
        assertThat(applied.err()).contains("not staged");
        assertThat(diff(before, live)).isEmpty();
    }

    @Test
    void aDirectoryReachedThroughALinkIsRefused() throws Exception {
        MergePlan plan = planned();
        payload(plan);
        // the same inode, found through a link: stat alone would pass it
        bash("cd '" + live + "' && mv etc etc.real && ln -s etc.real etc");
        Run staged = applier("stage", Map.of());
        assertThat(staged.exit()).isEqualTo(3);
        assertThat(staged.err()).contains("reached through a symbolic link: " + mp + "/etc/app.conf");
        assertThat(Files.readString(live.resolve("etc.real/app.conf"))).isEqualTo("conf\n");
    }

    /** The shadow removed usr/lib/old; the live VM wrote into it after the plan: its rmdir would fail half-way. */
    @Test
    void anEntryTheLiveVmMadeInADirectoryTheMergeDeletesWritesNothing() throws Exception {
        MergePlan plan = planned();
        payload(plan);
        bash("cd '" + live + "' && echo fresh > usr/lib/old/sub/made-after-the-plan");
        Path before = tmp.resolve("before");
        bash("cp -a '" + live + "' '" + before + "'");
        Run staged = applier("stage", Map.of());
        assertThat(staged.exit()).isEqualTo(3);
        assertThat(staged.err()).contains("since the plan, the live VM made 1 entries in a directory the merge deletes: "
                + mp + "/usr/lib/old/sub/made-after-the-plan").contains("nothing was written");
        assertThat(diff(before, live)).isEmpty();

        // made between the stage and the apply: the apply stops before its first write
        bash("rm '" + live + "/usr/lib/old/sub/made-after-the-plan'");
        assertThat(applier("stage", Map.of()).exit()).isZero();
        bash("cd '" + live + "' && echo fresh > usr/lib/old/made-after-the-stage");
        Path staged2 = tmp.resolve("staged");
        bash("cp -a '" + live + "' '" + staged2 + "'");
        Run applied = applier("apply", Map.of());
        assertThat(applied.exit()).isEqualTo(3);
        assertThat(applied.err()).contains(mp + "/usr/lib/old/made-after-the-stage: nothing was written");
        assertThat(diff(staged2, live)).isEmpty();
        assertThat(runDir.resolve("started")).doesNotExist();
    }

    /** A file system the live VM mounted over a planned directory: a write there would miss the disk the plan read. */
    @Test
    void aMountOverAPlannedDirectoryWritesNothing() throws Exception {
        MergePlan plan = planned();
        payload(plan);
        bash("mount -t tmpfs -o size=1m sp-test '" + live + "/usr/lib'");
        try {
            Run staged = applier("stage", Map.of());
            assertThat(staged.exit()).isEqualTo(3);
            assertThat(staged.err()).contains("on another file system than the plan's " + mp + " (a mount over it in the live VM): "
                    + mp + "/usr/lib").contains("nothing was written");
            assertThat(bash("ls -A '" + live + "/usr/lib'")).isEmpty();
        } finally {
            bash("umount '" + live + "/usr/lib'");
        }
        assertThat(Files.readString(live.resolve("usr/lib/old/sub/f"))).isEqualTo("gone\n");
        assertThat(applier("stage", Map.of()).exit()).isZero();
        assertThat(applier("apply", Map.of()).exit()).isZero();
        assertThat(live.resolve("usr/lib/old")).doesNotExist();
    }

    @Test
    void killedHalfWayTheNextApplySaysRollBack() throws Exception {
        MergePlan plan = planned();
        payload(plan);
        assertThat(applier("stage", Map.of()).exit()).isZero();
        Run killed = applier("apply", Map.of("SP_ONLINE_KILL_AFTER", "2"));
        assertThat(killed.exit()).isEqualTo(128 + 9);
        Run again = applier("apply", Map.of());
        assertThat(again.exit()).isEqualTo(5);
        assertThat(again.err()).contains("started and did not finish").contains("roll it back");
        assertThat(applier("stage", Map.of()).exit()).isEqualTo(5);
    }

    @Test
    void aChangeBetweenStageAndApplyWritesNothing() throws Exception {
        MergePlan plan = planned();
        payload(plan);
        assertThat(applier("stage", Map.of()).exit()).isZero();
        bash("cd '" + live + "' && echo raced > usr/bin/tool");
        Path before = tmp.resolve("before");
        bash("cp -a '" + live + "' '" + before + "'");
        Run applied = applier("apply", Map.of());
        assertThat(applied.exit()).isEqualTo(3);
        assertThat(applied.err()).contains("changed since it was staged: " + mp + "/usr/bin/tool").contains("nothing was written");
        assertThat(diff(before, live, ".sp-online-stage-t1")).isEmpty();
    }

    @Test
    void aWriteFailingHalfWayStopsWithHowFarItGot() throws Exception {
        MergePlan plan = planned();
        OnlinePlan online = payload(plan);
        assertThat(applier("stage", Map.of()).exit()).isZero();
        // the staged copy of a later put is gone: its rename fails after the earlier ones were done
        Files.delete(live.resolve(".sp-online-stage-t1/usr/lib/new/x.so.1"));
        Run applied = applier("apply", Map.of());
        assertThat(applied.exit()).isEqualTo(4);
        int index = online.steps().stream().map(OnlinePlan.Step::path).toList().indexOf("usr/lib/new/x.so.1");
        assertThat(index).isPositive();
        assertThat(applied.err()).contains("applied " + index + " of " + online.steps().size() + " operations; put "
                + mp + "/usr/lib/new/x.so.1 failed (No such file or directory)").contains("half-merged, roll it back");
        assertThat(applier("apply", Map.of()).exit()).as("a second apply").isEqualTo(5);
    }

    /**
     * A log the live VM writes all the time (its journal: the shadow, a clone, writes the same file) may
     * look unchanged when the plan is made and change before the window: its policy (keep-live) keeps
     * the live VM's, as the reboot merge's re-decided plan does, and the rest is merged.
     */
    @Test
    void aKeepLivePathTheLiveVmChangedAfterThePlanIsKeptAndTheRestMerged() throws Exception {
        bash("mkdir -p '" + base + "' && cd '" + base + "' && mkdir -p var/log usr/bin && echo j1 > var/log/system.journal && echo old > usr/bin/tool");
        bash("cp -a '" + base + "' '" + live + "' && cp -a '" + base + "' '" + shadow + "'");
        bash("cd '" + shadow + "' && echo shadow-boot >> var/log/system.journal && echo new > usr/bin/tool");
        MergePlan plan = engine.plan(new MergeTrees(base, live, shadow), Optional.empty());
        OnlinePlan online = payload(plan);
        assertThat(online.steps()).extracting(OnlinePlan.Step::expect).anyMatch(e -> e.startsWith("~"));
        bash("cd '" + live + "' && echo live-entry >> var/log/system.journal");

        Run staged = applier("stage", Map.of());
        assertThat(staged.exit()).as(staged.err()).isZero();
        assertThat(staged.err()).contains("kept as the live VM has it (changed since the plan; its policy keeps the live version): "
                + mp + "/var/log/system.journal");
        Run applied = applier("apply", Map.of());
        assertThat(applied.exit()).as(applied.err()).isZero();
        assertThat(applied.err()).contains("kept 1 live paths changed since the plan");
        assertThat(Files.readString(live.resolve("var/log/system.journal"))).isEqualTo("j1\nlive-entry\n");
        assertThat(Files.readString(live.resolve("usr/bin/tool"))).isEqualTo("new\n");
    }

    @Test
    void aShadowEntryThatIsNotTheApprovedVersionIsNeverPacked() throws Exception {
        MergePlan plan = planned();
        bash("cd '" + shadow + "' && rm usr/bin/tool && echo evil > usr/bin/tool");
        OnlinePlan online = OnlinePlan.of(RestartClass.SERVICES, List.of("tool"), Map.of(mp, plan));
        assertThatThrownBy(() -> OnlinePayload.write(online, Map.of(mp, plan), Map.of(mp, shadow), runDir, "t1"))
                .isInstanceOf(IOException.class).hasMessageContaining("/usr/bin/tool is not the version the plan approved");
        assertThat(runDir.resolve("manifest")).doesNotExist();
    }

    record Run(int exit, String err) {}

    Run applier(String mode, Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("perl", runDir.resolve(OnlinePayload.APPLIER).toString(), mode, runDir.toString());
        pb.environment().putAll(env);
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), err);
    }

    /** rsync's itemized differences in content, type, mode, owner, xattrs, ACLs, links (times not compared). */
    static String diff(Path expected, Path actual, String... excludes) throws Exception {
        StringBuilder ex = new StringBuilder();
        for (String e : excludes) {
            ex.append(" --exclude='").append(e).append("'");
        }
        return bash("rsync -rlpgoDHAXc -n -i --delete --numeric-ids" + ex + " '" + expected + "/' '" + actual + "/'");
    }

    static String bash(String script) throws IOException {
        Process p = new ProcessBuilder("bash", "-euo", "pipefail", "-c", script).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new AssertionError("failed: " + script + "\n" + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
        return out;
    }
}
