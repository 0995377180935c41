package dev.shadowpatch.workflow;

import dev.shadowpatch.disk.DiskExposer;
import dev.shadowpatch.disk.MountedImage;
import dev.shadowpatch.virt.ShadowClone;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * ImageMerger with the real merge engine on real directories; only the disk exposure is a test
 * double (each "image" is a directory), so this checks the composition: plan, operator decisions,
 * replan and execute in the window, and that every mount is taken away again.
 */
class ImageMergerTest {
    @TempDir Path dir;
    Path base, live, shadow, overlay;
    final List<String> exposed = new ArrayList<>();
    final List<String> released = new ArrayList<>();
    ShadowClone clone;

    /** Test double: an image is a directory; records what was exposed how and what was released. */
    final DiskExposer directoriesAsImages = (image, format, access) -> {
        exposed.add(image.getFileName() + ":" + access + ("qcow2".equals(format) ? "" : ":" + format));
        return new MountedImage() {
            public Path root() { return image; }
            public void close() { released.add(image.getFileName().toString()); }
        };
    };

    @BeforeEach
    void trees() throws IOException {
        base = Files.createDirectories(dir.resolve("base"));
        write(base, "etc/app.conf", "port=80\n");
        write(base, "usr/lib/app/lib.so", "v1");
        write(base, "srv/data.db", "rows:1");
        forkLiveAndShadow("");
        // The patch: a new library version and a new file. The live VM: new data.
        write(shadow, "usr/lib/app/lib.so", "v2");
        write(shadow, "usr/lib/app/plugin.so", "new");
        write(live, "srv/data.db", "rows:2");
    }

    @Test
    void plansMergesIntoTheOverlayAndReleasesEveryMount() {
        ImageMerger merger = new ImageMerger(directoriesAsImages, "");
        ShadowMerger.PlanResult plan = merger.plan(clone);
        assertThat(plan.unresolvedPaths()).isEmpty();
        assertThat(plan.operations()).isEqualTo(2);
        assertThat(exposed).containsExactlyInAnyOrder("base:READ_ONLY", "shadow:READ_ONLY", "live:SNAPSHOT_OF_RUNNING");

        overlay = copy(live, "overlay");
        ShadowMerger.MergeResult result = merger.merge(clone.withMergeOverlay(overlay), plan.planJson(), null);

        assertThat(read(overlay, "usr/lib/app/lib.so")).isEqualTo("v2");
        assertThat(read(overlay, "usr/lib/app/plugin.so")).isEqualTo("new");
        assertThat(read(overlay, "srv/data.db")).isEqualTo("rows:2");
        assertThat(read(live, "usr/lib/app/lib.so")).as("the live delta itself is never written").isEqualTo("v1");
        assertThat(result.ruleCounts().values().stream().mapToLong(Long::longValue).sum()).isEqualTo(2);
        assertThat(released).hasSize(6);
    }

    @Test
    void conflictsNeedADecisionAndADecisionIsApplied() throws IOException {
        write(shadow, "srv/data.db", "rows:1 migrated");
        ImageMerger merger = new ImageMerger(directoriesAsImages, "");
        ShadowMerger.PlanResult plan = merger.plan(clone);
        assertThat(plan.unresolvedPaths()).containsExactly("/srv/data.db");
        assertThat(plan.conflicts()).singleElement().asString().contains("srv/data.db").contains("base:");

        assertThatThrownBy(() -> merger.resolve(plan.planJson(), Map.of(), null))
                .isInstanceOf(ShadowMerger.ConflictsUnresolvedException.class).hasMessageContaining("/srv/data.db");
        assertThatThrownBy(() -> merger.resolve(plan.planJson(), Map.of("/srv/dta.db", "keep-live"), null))
                .hasMessageContaining("Not conflicts of this plan").hasMessageContaining("/srv/dta.db");

        ShadowMerger.PlanResult decided = merger.resolve(plan.planJson(), Map.of("/srv/data.db", "keep-live"), null);
        assertThat(decided.unresolvedPaths()).isEmpty();
        overlay = copy(live, "overlay");
        merger.merge(clone.withMergeOverlay(overlay), decided.planJson(), null);
        assertThat(read(overlay, "srv/data.db")).isEqualTo("rows:2");
        assertThat(read(overlay, "usr/lib/app/lib.so")).isEqualTo("v2");
    }

    @Test
    void aConflictThatAppearsInTheWindowIsRefusedAndNothingIsWritten() throws IOException {
        ImageMerger merger = new ImageMerger(directoriesAsImages, "");
        ShadowMerger.PlanResult plan = merger.plan(clone);
        overlay = copy(live, "overlay");
        write(overlay, "usr/lib/app/lib.so", "hand-patched on the live VM after the approval");

        assertThatThrownBy(() -> merger.merge(clone.withMergeOverlay(overlay), plan.planJson(), null))
                .isInstanceOf(ShadowMerger.ConflictsUnresolvedException.class).hasMessageContaining("/usr/lib/app/lib.so");
        assertThat(Files.exists(overlay.resolve("usr/lib/app/plugin.so"))).isFalse();
        assertThat(released).hasSize(6);
    }

    @Test
    void theLiveVmsDatabaseFilesAreNeverMixedWithTheShadowsByDefault() throws IOException {
        // The patch restarted PostgreSQL in the shadow (its files changed there); the live VM kept writing.
        write(base, "var/lib/postgresql/15/main/global/pg_control", "base");
        write(base, "var/lib/postgresql/15/main/base/5/2662", "base");
        forkLiveAndShadow("2"); // again: the base has new files
        write(shadow, "var/lib/postgresql/15/main/global/pg_control", "shadow restarted");
        write(shadow, "var/lib/postgresql/15/main/base/5/2662", "shadow restarted");
        write(live, "var/lib/postgresql/15/main/global/pg_control", "live wrote");

        ShadowMerger.PlanResult plan = new ImageMerger(directoriesAsImages, "").plan(clone);
        assertThat(plan.unresolvedPaths()).as("no conflict to ask about").isEmpty();
        overlay = copy(live, "overlay");
        new ImageMerger(directoriesAsImages, "").merge(clone.withMergeOverlay(overlay), plan.planJson(), null);
        assertThat(read(overlay, "var/lib/postgresql/15/main/global/pg_control")).isEqualTo("live wrote");
        assertThat(read(overlay, "var/lib/postgresql/15/main/base/5/2662")).as("not even a shadow-only change").isEqualTo("base");
    }

    @Test
    void perMachineStateStaysTheLiveVmsEvenWhenItChangesInTheWindow() throws IOException {
        write(base, "var/lib/systemd/random-seed", "base seed");
        write(base, "var/lib/dhcp/dhclient.ens2.leases", "lease 192.168.122.10");
        forkLiveAndShadow("3"); // again: the base has new files
        write(shadow, "var/lib/systemd/random-seed", "shadow seed");
        write(shadow, "var/lib/dhcp/dhclient.ens2.leases", "lease 192.168.150.20");
        ImageMerger merger = new ImageMerger(directoriesAsImages, "");
        ShadowMerger.PlanResult plan = merger.plan(clone);

        overlay = copy(live, "overlay");
        write(overlay, "var/lib/systemd/random-seed", "seed written at the live VM's shutdown");
        merger.merge(clone.withMergeOverlay(overlay), plan.planJson(), null);
        assertThat(read(overlay, "var/lib/systemd/random-seed")).isEqualTo("seed written at the live VM's shutdown");
        assertThat(read(overlay, "var/lib/dhcp/dhclient.ens2.leases")).isEqualTo("lease 192.168.122.10");
    }

    @Test
    void mergingWithoutAnOverlayIsRefused() {
        ImageMerger merger = new ImageMerger(directoriesAsImages, "");
        ShadowMerger.PlanResult plan = merger.plan(clone);
        assertThatThrownBy(() -> merger.merge(clone, plan.planJson(), null)).hasMessageContaining("No merge overlay");
        assertThat(read(live, "usr/lib/app/lib.so")).isEqualTo("v1");
    }

    @Test
    void aJournalLeftByAnEarlierOverlayIsDiscarded_andTheCompletedMergeLeavesNone() throws IOException {
        ImageMerger merger = new ImageMerger(directoriesAsImages, "");
        ShadowMerger.PlanResult plan = merger.plan(clone);
        overlay = copy(live, "overlay");
        Path journal = dir.resolve("overlay.merge-journal");
        // an earlier attempt into another overlay of the same name: its plan must not be resumed here
        dev.shadowpatch.merge.Journal.at(journal, "elsewhere", "another overlay", "elsewhere")
                .begin(dev.shadowpatch.merge.MergePlan.fromJson(new String(plan.planJson(), StandardCharsets.UTF_8)));
        Files.writeString(journal.resolve("done"), "usr/lib/app/lib.so\nusr/lib/app/plugin.so\n");

        merger.merge(clone.withMergeOverlay(overlay), plan.planJson(), null);

        assertThat(read(overlay, "usr/lib/app/lib.so")).as("not skipped as 'done' by the stale journal").isEqualTo("v2");
        assertThat(read(overlay, "usr/lib/app/plugin.so")).isEqualTo("new");
        assertThat(journal).doesNotExist();
    }

    @Test
    void aRawBaseIsExposedAsRawAndEveryOverlayAsQcow2() {
        ImageMerger merger = new ImageMerger(directoriesAsImages, "");
        ShadowClone onRaw = new ShadowClone("run", "web-01", "web-01-shadow", "vda", base, live, shadow, null, "raw");
        merger.plan(onRaw);
        assertThat(exposed).containsExactlyInAnyOrder("base:READ_ONLY:raw", "shadow:READ_ONLY", "live:SNAPSHOT_OF_RUNNING");
        exposed.clear();
        overlay = copy(live, "overlay");
        merger.merge(onRaw.withMergeOverlay(overlay), merger.plan(onRaw).planJson(), null);
        assertThat(exposed).contains("base:READ_ONLY:raw", "overlay:READ_WRITE").doesNotContain("base:READ_ONLY");
    }

    /** Live and shadow start as copies of the base, as both overlays start from the snapshot. */
    private void forkLiveAndShadow(String suffix) {
        live = copy(base, "live" + suffix);
        shadow = copy(base, "shadow" + suffix);
        clone = new ShadowClone("run", "web-01", "web-01-shadow", "vda", base, live, shadow, null);
    }

    private static void write(Path root, String rel, String text) throws IOException {
        Path file = root.resolve(rel);
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
    }

    private static String read(Path root, String rel) {
        try {
            return Files.readString(root.resolve(rel), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** A copy that keeps inode-level metadata like an overlay would not; enough for content checks. */
    private Path copy(Path from, String name) {
        Path to = dir.resolve(name);
        try {
            Process p = new ProcessBuilder("cp", "-a", from.toString(), to.toString()).inheritIO().start();
            assertThat(p.waitFor()).isZero();
        } catch (IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
        return to;
    }
}
