package dev.shadowpatch.evidence;

import dev.shadowpatch.evidence.PackageChange.Kind;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The whole case table of the package diff: one test per case (before -> after in the shadow's dpkg database). */
class PackageChangesCaseTableTest {
    static InstalledPackage pkg(String name, String version) { return pkg(name, version, "amd64", "ii "); }
    static InstalledPackage pkg(String name, String version, String arch) { return pkg(name, version, arch, "ii "); }
    static InstalledPackage pkg(String name, String version, String arch, String status) {
        return new InstalledPackage(name, version, arch, status);
    }

    static List<PackageChange> diff(List<InstalledPackage> before, List<InstalledPackage> after) {
        return PackageChanges.between(before, after);
    }

    static PackageChange only(List<InstalledPackage> before, List<InstalledPackage> after) {
        List<PackageChange> changes = diff(before, after);
        assertEquals(1, changes.size(), () -> "one change expected: " + changes);
        return changes.get(0);
    }

    static void expect(PackageChange c, String name, Kind kind, String oldVersion, String newVersion, String arch) {
        assertEquals(name, c.name(), "name");
        assertEquals(kind, c.kind(), "kind");
        assertEquals(oldVersion, c.oldVersion(), "old version");
        assertEquals(newVersion, c.newVersion(), "new version");
        assertEquals(arch, c.architecture(), "architecture");
    }

    // --- versions ---
    @Test @DisplayName("a security update: upgraded")
    void upgraded() {
        expect(only(List.of(pkg("libssl3", "3.0.11-1~deb12u2")), List.of(pkg("libssl3", "3.0.13-1~deb12u1"))),
                "libssl3", Kind.UPGRADED, "3.0.11-1~deb12u2", "3.0.13-1~deb12u1", "amd64");
    }
    @Test void upgradedByRevisionOnly() {
        expect(only(List.of(pkg("libc6", "2.36-9+deb12u4")), List.of(pkg("libc6", "2.36-9+deb12u10"))),
                "libc6", Kind.UPGRADED, "2.36-9+deb12u4", "2.36-9+deb12u10", "amd64");
    }
    @Test @DisplayName("a backport replaced by the stable version (~bpo sorts lower): upgraded")
    void tildeVersionReplacedIsUpgraded() {
        assertEquals(Kind.UPGRADED, only(List.of(pkg("nginx", "1.22.1-9~bpo11+1")), List.of(pkg("nginx", "1.22.1-9"))).kind());
    }
    @Test void downgraded() {
        expect(only(List.of(pkg("curl", "7.88.1-10+deb12u5")), List.of(pkg("curl", "7.88.1-10"))),
                "curl", Kind.DOWNGRADED, "7.88.1-10+deb12u5", "7.88.1-10", "amd64");
    }
    @Test @DisplayName("an epoch outranks every upstream version: 1:0.9 after 2.0 is an upgrade")
    void epochUpgrade() {
        expect(only(List.of(pkg("mawk", "2.0")), List.of(pkg("mawk", "1:0.9"))), "mawk", Kind.UPGRADED, "2.0", "1:0.9", "amd64");
    }
    @Test @DisplayName("an epoch dropped is a downgrade")
    void epochDropped() {
        assertEquals(Kind.DOWNGRADED, only(List.of(pkg("perl", "1:5.36.0-7")), List.of(pkg("perl", "5.38.0-1"))).kind());
    }
    @Test @DisplayName("the same version written two ways (0:1.0-0 and 1.0) is no change")
    void equalVersionsWrittenDifferently() {
        assertTrue(diff(List.of(pkg("foo", "0:1.0-0")), List.of(pkg("foo", "1.0"))).isEmpty());
    }
    @Test void unchangedIsNotListed() {
        assertTrue(diff(List.of(pkg("acl", "2.3.1-3"), pkg("bash", "5.2.15-2+b2")),
                List.of(pkg("acl", "2.3.1-3"), pkg("bash", "5.2.15-2+b2"))).isEmpty());
    }

    // --- presence ---
    @Test @DisplayName("a new package (e.g. the kernel of a new ABI): new, no old version")
    void newPackage() {
        expect(only(List.of(), List.of(pkg("linux-image-6.1.0-28-amd64", "6.1.119-1"))),
                "linux-image-6.1.0-28-amd64", Kind.INSTALLED, null, "6.1.119-1", "amd64");
    }
    @Test void removed() {
        expect(only(List.of(pkg("libfoo1", "1.0-1")), List.of()), "libfoo1", Kind.REMOVED, "1.0-1", null, "amd64");
    }
    @Test @DisplayName("removed with its configuration files left (rc): removed")
    void removedConfigFilesLeft() {
        expect(only(List.of(pkg("exim4", "4.96-15")), List.of(pkg("exim4", "4.96-15", "amd64", "rc "))),
                "exim4", Kind.REMOVED, "4.96-15", null, "amd64");
    }
    @Test @DisplayName("installed again where only its configuration files were left: new")
    void reinstalledFromConfigFiles() {
        expect(only(List.of(pkg("exim4", "4.96-15", "amd64", "rc ")), List.of(pkg("exim4", "4.96-15+deb12u1"))),
                "exim4", Kind.INSTALLED, null, "4.96-15+deb12u1", "amd64");
    }
    @Test @DisplayName("not installed in either (un, rc -> rc): nothing")
    void absentInBoth() {
        assertTrue(diff(List.of(pkg("a1", "1", "amd64", "un "), pkg("b1", "1", "amd64", "rc ")),
                List.of(pkg("a1", "1", "amd64", "un "), pkg("b1", "1", "amd64", "rc "))).isEmpty());
    }

    // --- architectures ---
    @Test @DisplayName("the same name moved to Architecture: all: one change, not removed + new")
    void architectureChanged() {
        PackageChange c = only(List.of(pkg("tzdata", "2024a-0+deb12u1", "amd64")), List.of(pkg("tzdata", "2025b-0+deb12u1", "all")));
        expect(c, "tzdata", Kind.ARCHITECTURE, "2024a-0+deb12u1", "2025b-0+deb12u1", "amd64 -> all");
        assertTrue(c.newerThanBefore(), "its changelog is read for what the newer version fixes");
    }
    @Test @DisplayName("Multi-Arch: both architectures upgraded, each its own row")
    void multiArchBothUpgraded() {
        List<PackageChange> changes = diff(
                List.of(pkg("libc6", "2.36-9+deb12u4", "amd64"), pkg("libc6", "2.36-9+deb12u4", "i386")),
                List.of(pkg("libc6", "2.36-9+deb12u7", "i386"), pkg("libc6", "2.36-9+deb12u7", "amd64")));
        assertEquals(2, changes.size());
        expect(changes.get(0), "libc6", Kind.UPGRADED, "2.36-9+deb12u4", "2.36-9+deb12u7", "amd64");
        expect(changes.get(1), "libc6", Kind.UPGRADED, "2.36-9+deb12u4", "2.36-9+deb12u7", "i386");
    }
    @Test @DisplayName("Multi-Arch: a foreign architecture added beside the native one: new")
    void foreignArchitectureAdded() {
        expect(only(List.of(pkg("libc6", "2.36-9", "amd64")), List.of(pkg("libc6", "2.36-9", "amd64"), pkg("libc6", "2.36-9", "i386"))),
                "libc6", Kind.INSTALLED, null, "2.36-9", "i386");
    }

    // --- states ---
    @Test @DisplayName("upgraded but left unpacked (iU): upgraded, and what dpkg says is shown")
    void upgradedButNotConfigured() {
        PackageChange c = only(List.of(pkg("nginx", "1.22.1-9")), List.of(pkg("nginx", "1.22.1-9+deb12u1", "amd64", "iU ")));
        expect(c, "nginx", Kind.UPGRADED, "1.22.1-9", "1.22.1-9+deb12u1", "amd64");
        assertEquals("unpacked, not configured", c.unfinished());
    }
    @Test @DisplayName("the same version left half-configured (iF): left unfinished")
    void sameVersionHalfConfigured() {
        PackageChange c = only(List.of(pkg("postgresql-15", "15.8-0+deb12u1")),
                List.of(pkg("postgresql-15", "15.8-0+deb12u1", "amd64", "iF ")));
        expect(c, "postgresql-15", Kind.UNFINISHED, "15.8-0+deb12u1", "15.8-0+deb12u1", "amd64");
        assertEquals("half-configured", c.unfinished());
        assertFalse(c.newerThanBefore());
    }
    @Test @DisplayName("reinstallation required (iFR) is said")
    void reinstallRequired() {
        assertEquals("half-configured, reinstallation required",
                only(List.of(pkg("foo", "1")), List.of(pkg("foo", "1", "amd64", "iFR"))).unfinished());
    }
    @Test @DisplayName("triggers pending (it) count as installed: no change")
    void triggersPendingIsInstalled() {
        assertTrue(diff(List.of(pkg("man-db", "2.11.2-2")), List.of(pkg("man-db", "2.11.2-2", "amd64", "it "))).isEmpty());
    }
    @Test @DisplayName("a package the patch finished installing (iF -> ii, same version) is no version change")
    void finishedByThePatch() {
        assertTrue(diff(List.of(pkg("foo", "1", "amd64", "iF ")), List.of(pkg("foo", "1"))).isEmpty());
    }

    // --- a whole update, in order ---
    @Test @DisplayName("an update of several packages: every row, by name")
    void aWholeUpdate() {
        List<PackageChange> changes = diff(
                List.of(pkg("acl", "2.3.1-3"), pkg("libssl3", "3.0.11-1~deb12u2"), pkg("openssl", "3.0.11-1~deb12u2"),
                        pkg("linux-image-6.1.0-13-amd64", "6.1.55-1"), pkg("oldlib1", "1.0-1")),
                List.of(pkg("acl", "2.3.1-3"), pkg("libssl3", "3.0.13-1~deb12u1"), pkg("openssl", "3.0.13-1~deb12u1"),
                        pkg("linux-image-6.1.0-13-amd64", "6.1.55-1"), pkg("linux-image-6.1.0-28-amd64", "6.1.119-1")));
        assertEquals(List.of("libssl3 upgraded", "linux-image-6.1.0-28-amd64 new", "oldlib1 removed", "openssl upgraded"),
                changes.stream().map(c -> c.name() + " " + c.kind()).toList());
        changes.forEach(c -> assertNull(c.unfinished()));
    }

    // --- the listing as the guest prints it ---
    @Test @DisplayName("dpkg-query's lines parse; malformed ones (a guest may print anything) are counted, not kept")
    void listingParsesAndCountsMalformedLines() {
        InstalledPackage.Listing listing = InstalledPackage.Listing.parse(
                "acl\t2.3.1-3\tamd64\tii \n"
                        + "tzdata\t2025b-0+deb12u1\tall\tii\n" // a stripped line: the blank error flag is restored
                        + "bad name\t1.0\tamd64\tii \n"
                        + "evil\t1.0;reboot\tamd64\tii \n"
                        + "short\t1.0\n"
                        + "ok\n"
                        + "\n");
        assertEquals(List.of("acl", "tzdata"), listing.packages().stream().map(InstalledPackage::name).toList());
        assertEquals(4, listing.malformedLines());
        assertEquals("acl\t2.3.1-3\tamd64\tii \ntzdata\t2025b-0+deb12u1\tall\tii \n", listing.toText());
        assertEquals(listing.packages(), InstalledPackage.Listing.parse(listing.toText()).packages(), "what is stored reads back the same");
    }
}
