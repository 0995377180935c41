package dev.shadowpatch.workflow;

import dev.shadowpatch.disk.BootLoaderArea;
import dev.shadowpatch.disk.DiskExposer;
import dev.shadowpatch.disk.MountedImage;
import dev.shadowpatch.disk.GuestLayout;
import dev.shadowpatch.disk.MountedDisk;
import dev.shadowpatch.disk.DiskExposer.Access;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
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
    List<String> unmergedInShadow = List.of();

    /**
     * Test double: an image is a directory (a layout's file system: its subdirectory root, boot,
     * var); records what was exposed how and what
     * was released.
     */
    final DiskExposer directoriesAsImages = new DiskExposer() {
        @Override
        public MountedImage expose(Path image, String format, Access access) {
            exposed.add(image.getFileName() + ":" + access + ("qcow2".equals(format) ? "" : ":" + format));
            return new MountedImage() {
                public Path root() { return image; }
                public void close() { released.add(image.getFileName().toString()); }
            };
        }

        @Override
        public List<String> unmergedWrites(Path delta, GuestLayout layout, String diskTarget, BootLoaderArea.Copy bootLoader) {
            return unmergedInShadow;
        }

        @Override
        public BootLoaderArea.Copy bootLoaderCopy(Path shadowDelta, Path liveDelta, Access liveAccess, String diskTarget) {
            return BootLoaderArea.Copy.none(diskTarget);
        }

        @Override
        public void writeBootLoader(Path shadowDelta, Path mergeOverlay, BootLoaderArea.Copy copy) {
            throw new AssertionError("no boot loader here");
        }

        @Override
        public GuestLayout readLayout(Map<String, Path> images, Map<String, String> formats, Access access) {
            throw new AssertionError("the merger never reads a layout");
        }

        @Override
        public MountedDisk exposeFileSystems(Path image, String format, Access access, GuestLayout layout, String diskTarget) {
            exposed.add(image.getFileName() + ":" + access + ("qcow2".equals(format) ? "" : ":" + format));
            Map<String, Path> roots = new TreeMap<>();
            for (GuestLayout.FileSystem fs : layout.on(diskTarget)) {
                roots.put(fs.mountPoint(), image.resolve(fs.mountPoint().equals("/") ? "root" : fs.mountPoint().substring(1).replace('/', '-')));
            }
            return new MountedDisk() {
                public Path root() { return roots.get("/"); }
                public Path root(String mountPoint) { return roots.get(mountPoint); }
                public Set<String> mountPoints() { return roots.keySet(); }
                public void close() { released.add(image.getFileName().toString()); }
            };
        }
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
        ShadowMerger.PlanResult plan = merger.plan(clone, null);
        assertThat(plan.unresolvedPaths()).isEmpty();
        assertThat(plan.operations()).isEqualTo(2);
        assertThat(exposed).containsExactlyInAnyOrder("base:READ_ONLY", "shadow:READ_ONLY", "live:SNAPSHOT_OF_RUNNING");

        overlay = copy(live, "overlay");
        ShadowMerger.MergeResult result = merger.merge(clone.withMergeOverlay(overlay), null, plan.planJson(), null);

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
        ShadowMerger.PlanResult plan = merger.plan(clone, null);
        assertThat(plan.unresolvedPaths()).containsExactly("/srv/data.db");
        assertThat(plan.conflicts()).singleElement().asString().contains("srv/data.db").contains("base:");

        assertThatThrownBy(() -> merger.resolve(plan.planJson(), Map.of(), null))
                .isInstanceOf(ShadowMerger.ConflictsUnresolvedException.class).hasMessageContaining("/srv/data.db");
        assertThatThrownBy(() -> merger.resolve(plan.planJson(), Map.of("/srv/dta.db", "keep-live"), null))
                .hasMessageContaining("Not conflicts of this plan").hasMessageContaining("/srv/dta.db");

        ShadowMerger.PlanResult decided = merger.resolve(plan.planJson(), Map.of("/srv/data.db", "keep-live"), null);
        assertThat(decided.unresolvedPaths()).isEmpty();
        assertThat(decided.conflictRows()).as("settled from its JSON: the rows stay those of the plan").isNull();
        overlay = copy(live, "overlay");
        merger.merge(clone.withMergeOverlay(overlay), null, decided.planJson(), null);
        assertThat(read(overlay, "srv/data.db")).isEqualTo("rows:2");
        assertThat(read(overlay, "usr/lib/app/lib.so")).isEqualTo("v2");
    }

    @Test
    void aConflictThatAppearsInTheWindowIsRefusedAndNothingIsWritten() throws IOException {
        ImageMerger merger = new ImageMerger(directoriesAsImages, "");
        ShadowMerger.PlanResult plan = merger.plan(clone, null);
        overlay = copy(live, "overlay");
        write(overlay, "usr/lib/app/lib.so", "hand-patched on the live VM after the approval");

        assertThatThrownBy(() -> merger.merge(clone.withMergeOverlay(overlay), null, plan.planJson(), null))
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

        ShadowMerger.PlanResult plan = new ImageMerger(directoriesAsImages, "").plan(clone, null);
        assertThat(plan.unresolvedPaths()).as("no conflict to ask about").isEmpty();
        overlay = copy(live, "overlay");
        new ImageMerger(directoriesAsImages, "").merge(clone.withMergeOverlay(overlay), null, plan.planJson(), null);
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
        ShadowMerger.PlanResult plan = merger.plan(clone, null);

        overlay = copy(live, "overlay");
        write(overlay, "var/lib/systemd/random-seed", "seed written at the live VM's shutdown");
        merger.merge(clone.withMergeOverlay(overlay), null, plan.planJson(), null);
        assertThat(read(overlay, "var/lib/systemd/random-seed")).isEqualTo("seed written at the live VM's shutdown");
        assertThat(read(overlay, "var/lib/dhcp/dhclient.ens2.leases")).isEqualTo("lease 192.168.122.10");
    }

    @Test
    void mergingWithoutAnOverlayIsRefused() {
        ImageMerger merger = new ImageMerger(directoriesAsImages, "");
        ShadowMerger.PlanResult plan = merger.plan(clone, null);
        assertThatThrownBy(() -> merger.merge(clone, null, plan.planJson(), null)).hasMessageContaining("No merge overlay");
        assertThat(read(live, "usr/lib/app/lib.so")).isEqualTo("v1");
    }

    @Test
    void aJournalLeftByAnEarlierOverlayIsDiscarded_andTheCompletedMergeLeavesNone() throws IOException {
        ImageMerger merger = new ImageMerger(directoriesAsImages, "");
        ShadowMerger.PlanResult plan = merger.plan(clone, null);
        overlay = copy(live, "overlay");
        Path journal = dir.resolve("overlay.merge-journal");
        // an earlier attempt into another overlay of the same name: its plan must not be resumed here
        dev.shadowpatch.merge.Journal.at(journal, "elsewhere", "another overlay", "elsewhere")
                .begin(dev.shadowpatch.merge.MergePlan.fromJson(new String(plan.planJson(), StandardCharsets.UTF_8)));
        Files.writeString(journal.resolve("done"), "usr/lib/app/lib.so\nusr/lib/app/plugin.so\n");

        merger.merge(clone.withMergeOverlay(overlay), null, plan.planJson(), null);

        assertThat(read(overlay, "usr/lib/app/lib.so")).as("not skipped as 'done' by the stale journal").isEqualTo("v2");
        assertThat(read(overlay, "usr/lib/app/plugin.so")).isEqualTo("new");
        assertThat(journal).doesNotExist();
    }

    /**
     * A VM with separate /boot and /var file systems: each is planned and merged as its own tree;
     * the approver sees guest paths (/boot/grub/grub.cfg), the guest's change log is split by file
     * system, the policy matches guest paths on every file system (/var/cache/apt is excluded on a
     * separate /var too), and a retry after a later file system failed does not merge an earlier one again.
     */
    @Test
    void aVmWithSeveralFileSystemsIsMergedFileSystemByFileSystemWithGuestPaths() throws IOException {
        GuestLayout.Volume v1 = new GuestLayout.Volume("vda", 1, null);
        GuestLayout layout = new GuestLayout(List.of(
                new GuestLayout.FileSystem("/", "ext4", "/dev/mapper/vg-root", new GuestLayout.Volume("vda", 2, "vg/root"), null),
                new GuestLayout.FileSystem("/boot", "ext4", "UUID=b", v1, null),
                new GuestLayout.FileSystem("/var", "ext4", "UUID=v", new GuestLayout.Volume("vda", 3, null), null)), List.of());
        Path b = Files.createDirectories(dir.resolve("vm-base"));
        write(b, "root/usr/lib/app/lib.so", "v1");
        Files.createDirectories(b.resolve("root/boot"));
        write(b, "boot/vmlinuz-6.1.0-28-amd64", "old kernel");
        write(b, "boot/grub/grub.cfg", "menuentry 6.1.0-28\n");
        write(b, "var/lib/dpkg/status", "old\n");
        Path l = copy(b, "vm-live"), s = copy(b, "vm-shadow");
        // the patch: a new kernel (on /boot), its modules and a library (on /), dpkg's status (on /var)
        write(s, "boot/vmlinuz-6.1.0-30-amd64", "new kernel");
        write(s, "boot/grub/grub.cfg", "menuentry 6.1.0-30\n");
        write(s, "root/lib/modules/6.1.0-30-amd64/modules.dep", "deps");
        write(s, "root/usr/lib/app/lib.so", "v2");
        write(s, "var/lib/dpkg/status", "new\n");
        write(s, "var/cache/apt/pkgcache.bin", "cache");
        // the guest's change log lies on /var (lib/sp-change-capture/...) and names paths on every file system
        write(s, "var/lib/sp-change-capture/changes.log", "/boot/vmlinuz-6.1.0-30-amd64\n/boot/grub/grub.cfg\n"
                + "/lib\n/lib/modules\n/lib/modules/6.1.0-30-amd64\n/lib/modules/6.1.0-30-amd64/modules.dep\n/usr/lib/app/lib.so\n"
                + "/var/lib/dpkg/status\n/var/cache\n");
        // the live VM edits grub.cfg by hand after the snapshot: a conflict on /boot, by its guest path
        write(l, "boot/grub/grub.cfg", "menuentry 6.1.0-28 # tuned\n");
        write(l, "var/lib/app/state", "live data");
        ShadowClone vm = new ShadowClone("run2", "db-01", "db-01-shadow", "vda", b, l, s, null);
        ImageMerger merger = new ImageMerger(directoriesAsImages, "");

        ShadowMerger.PlanResult plan = merger.plan(vm, layout);

        assertThat(plan.unresolvedPaths()).containsExactly("/boot/grub/grub.cfg");
        assertThat(plan.conflicts()).singleElement().asString().startsWith("/boot/grub/grub.cfg");
        // its row for the approval form, read while /boot was exposed: the guest path, both edits of grub.cfg
        assertThat(plan.conflictRows().rows()).singleElement().satisfies(row -> {
            assertThat(row.path()).isEqualTo("/boot/grub/grub.cfg");
            assertThat(row.diff().live()).contains("+menuentry 6.1.0-28 # tuned");
            assertThat(row.diff().shadow()).contains("+menuentry 6.1.0-30");
        });
        // the plan by directory in guest paths, with the paths the policy keeps out
        assertThat(plan.byDirectory().directories()).extracting(PlanByDirectory.Directory::directory)
                .contains("/boot", "/boot/grub", "/usr/lib", "/var/lib");
        String json = new String(plan.planJson(), StandardCharsets.UTF_8);
        assertThat(json).contains("\"mountPoint\":\"/boot\"").doesNotContain("pkgcache.bin");
        assertThatThrownBy(() -> merger.resolve(plan.planJson(), Map.of("/grub/grub.cfg", "take-shadow"), null))
                .as("a path relative to /boot is not a guest path").hasMessageContaining("/grub/grub.cfg");
        // the guest's change log, split by file system: each names its own paths, none missed by the scan
        FileSystemPlans parts = FileSystemPlans.fromJson(json);
        assertThat(parts.byMountPoint().get("/boot").detect().logPaths()).isEqualTo(2);
        assertThat(parts.byMountPoint().get("/").detect().logPaths()).isEqualTo(5);
        assertThat(parts.byMountPoint().get("/var").detect().logPaths()).isEqualTo(2);
        assertThat(parts.byMountPoint().values()).allSatisfy(p -> assertThat(p.detect().logMissed()).isEmpty());
        ShadowMerger.PlanResult decided = merger.resolve(plan.planJson(), Map.of("/boot/grub/grub.cfg", "take-shadow"), null);
        assertThat(decided.unresolvedPaths()).isEmpty();

        Path o = copy(l, "vm-overlay");
        ShadowClone merging = vm.withMergeOverlay(o);
        ShadowMerger.MergeResult result = merger.merge(merging, layout, decided.planJson(), null);

        assertThat(read(o, "boot/vmlinuz-6.1.0-30-amd64")).isEqualTo("new kernel");
        assertThat(read(o, "boot/grub/grub.cfg")).isEqualTo("menuentry 6.1.0-30\n");
        assertThat(read(o, "root/lib/modules/6.1.0-30-amd64/modules.dep")).isEqualTo("deps");
        assertThat(read(o, "root/usr/lib/app/lib.so")).isEqualTo("v2");
        assertThat(read(o, "var/lib/dpkg/status")).isEqualTo("new\n");
        assertThat(read(o, "var/lib/app/state")).as("the live VM's change kept").isEqualTo("live data");
        assertThat(o.resolve("var/cache/apt/pkgcache.bin")).as("excluded on a separate /var too").doesNotExist();
        assertThat(o.resolve("root/boot/vmlinuz-6.1.0-30-amd64")).as("nothing of /boot lands in the root's mount point").doesNotExist();
        assertThat(new String(result.reportJson(), StandardCharsets.UTF_8)).contains("\"mountPoint\":\"/var\"");

        // a retry (say /var failed after / and /boot were merged) merges nothing twice and reports the same
        write(o, "boot/vmlinuz-6.1.0-30-amd64", "changed after the merge");
        ShadowMerger.MergeResult again = merger.merge(merging, layout, decided.planJson(), null);
        assertThat(read(o, "boot/vmlinuz-6.1.0-30-amd64")).as("/boot was not merged again").isEqualTo("changed after the merge");
        assertThat(again.ruleCounts()).isEqualTo(result.ruleCounts());

        // the run's end takes the markers and journals away, nothing else beside the overlay
        assertThat(dir.resolve("vm-overlay.merged--boot")).exists();
        merger.forget(merging);
        try (var left = Files.list(dir)) {
            assertThat(left.map(p -> p.getFileName().toString())).filteredOn(n -> n.startsWith("vm-overlay")).containsExactly("vm-overlay");
        }
    }

    /**
     * A VM with its data on a second disk: the plan reads both disks, each file system from its own
     * disk's layers; only the disk the plan writes gets an overlay (the data disk keeps its live
     * delta), and a plan that writes a disk without one is refused before anything is written.
     */
    @Test
    void aSecondDiskIsPlannedFromItsOwnLayersAndOnlyADiskThePlanWritesIsMergedInto() throws IOException {
        GuestLayout layout = new GuestLayout(List.of(
                new GuestLayout.FileSystem("/", "ext4", "UUID=r", new GuestLayout.Volume("vda", 1, null), null),
                new GuestLayout.FileSystem("/srv", "ext4", "UUID=s", new GuestLayout.Volume("vdb", 0, null), null)), List.of());
        Path b = Files.createDirectories(dir.resolve("a-base")), db = Files.createDirectories(dir.resolve("b-base"));
        write(b, "root/usr/lib/app/lib.so", "v1");
        Files.createDirectories(b.resolve("root/srv"));
        write(db, "srv/pgdata/base.dat", "rows:1");
        Path l = copy(b, "a-live"), s = copy(b, "a-shadow"), dl = copy(db, "b-live"), ds = copy(db, "b-shadow");
        write(s, "root/usr/lib/app/lib.so", "v2");       // the patch writes only the root disk
        write(dl, "srv/pgdata/base.dat", "rows:2");      // the live VM keeps writing its data disk
        ShadowClone vm = new ShadowClone("run3", "db-02", "db-02-shadow", List.of(
                new ShadowClone.Disk("vda", b, l, s, null, "qcow2"),
                new ShadowClone.Disk("vdb", db, dl, ds, null, "raw")));
        ImageMerger merger = new ImageMerger(directoriesAsImages, "");

        ShadowClone unpatched = new ShadowClone("run3", "db-02", "db-02-shadow", List.of(
                new ShadowClone.Disk("vda", b, l, copy(b, "a-shadow0"), null, "qcow2"),
                new ShadowClone.Disk("vdb", db, dl, copy(db, "b-shadow0"), null, "raw")));
        assertThat(merger.disksWritten(unpatched, layout, merger.plan(unpatched, layout).planJson()))
                .as("a plan that writes nothing still merges (nothing) into the boot disk's overlay").containsExactly("vda");
        assertThatThrownBy(() -> merger.plan(new ShadowClone("run3", "db-02", "s", List.of(vm.bootDisk())), layout))
                .as("a disk of the layout that the snapshot lacks").hasMessageContaining("/srv of db-02 lies on disk vdb");
        exposed.clear();
        ShadowMerger.PlanResult plan = merger.plan(vm, layout);

        assertThat(exposed).containsExactlyInAnyOrder("a-base:READ_ONLY", "a-shadow:READ_ONLY", "a-live:SNAPSHOT_OF_RUNNING",
                "b-base:READ_ONLY:raw", "b-shadow:READ_ONLY", "b-live:SNAPSHOT_OF_RUNNING");
        assertThat(FileSystemPlans.fromJson(new String(plan.planJson(), StandardCharsets.UTF_8)).byMountPoint())
                .containsOnlyKeys("/", "/srv");
        assertThat(merger.disksWritten(vm, layout, plan.planJson())).as("the data disk keeps its live delta").containsExactly("vda");

        exposed.clear();
        Path o = copy(l, "a-overlay");
        ShadowClone merging = vm.withMergeOverlays(Map.of("vda", o));
        String report = new String(merger.merge(merging, layout, plan.planJson(), null).reportJson(), StandardCharsets.UTF_8);
        assertThat(read(o, "root/usr/lib/app/lib.so")).isEqualTo("v2");
        assertThat(exposed).as("the disk without an overlay is not opened in the window")
                .containsExactlyInAnyOrder("a-base:READ_ONLY", "a-shadow:READ_ONLY", "a-overlay:READ_WRITE");
        assertThat(report).contains("\"mountPoint\":\"/\"").doesNotContain("/srv");
        assertThat(read(dl, "srv/pgdata/base.dat")).isEqualTo("rows:2");

        // the shadow wrote the data disk too: that disk must be merged into, and without its overlay nothing is written
        write(ds, "srv/pgdata/ext.so", "new");
        ShadowMerger.PlanResult both = merger.plan(vm, layout);
        assertThat(merger.disksWritten(vm, layout, both.planJson())).containsExactly("vda", "vdb");
        Path fresh = copy(l, "a-overlay2");
        assertThatThrownBy(() -> merger.merge(vm.withMergeOverlays(Map.of("vda", fresh)), layout, both.planJson(), null))
                .hasMessageContaining("/srv").hasMessageContaining("vdb has no merge overlay");
        assertThat(read(fresh, "root/usr/lib/app/lib.so")).isEqualTo("v1");
    }

    @Test
    void aRawBaseIsExposedAsRawAndEveryOverlayAsQcow2() {
        ImageMerger merger = new ImageMerger(directoriesAsImages, "");
        ShadowClone onRaw = new ShadowClone("run", "web-01", "web-01-shadow", "vda", base, live, shadow, null, "raw");
        merger.plan(onRaw, null);
        assertThat(exposed).containsExactlyInAnyOrder("base:READ_ONLY:raw", "shadow:READ_ONLY", "live:SNAPSHOT_OF_RUNNING");
        exposed.clear();
        overlay = copy(live, "overlay");
        merger.merge(onRaw.withMergeOverlay(overlay), null, merger.plan(onRaw, null).planJson(), null);
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
