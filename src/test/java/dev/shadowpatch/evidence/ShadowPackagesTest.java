package dev.shadowpatch.evidence;

import dev.shadowpatch.evidence.PackageChange.Kind;
import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.guest.GuestException;
import dev.shadowpatch.guest.GuestShell;
import dev.shadowpatch.guest.GuestTarget;
import dev.shadowpatch.testing.LocalShell;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The guest side for real in this host's sh (zcat, awk, head, dpkg-deb, tar as in a Debian guest)
 * over a doc tree of real changelogs and directories of real package archives: one call for all
 * upgrades, symlinked doc directories, native packages, a guest without installed docs whose
 * changelogs are read from the archives the patch installed, a package without a changelog anywhere.
 * And what a failing guest leaves: a reason, never a failed step.
 */
class ShadowPackagesTest {
    static final GuestTarget SHADOW = GuestTarget.direct("192.0.2.7", "root");

    @TempDir Path work;
    Path docs, bundle, aptCache;

    @BeforeEach
    void trees() throws IOException {
        docs = Files.createDirectories(work.resolve("usr/share/doc"));
        bundle = Files.createDirectories(work.resolve("var/cache/sp-patch-bundle"));
        aptCache = Files.createDirectories(work.resolve("var/cache/apt/archives"));
    }

    ShadowPackages reader(GuestShell shell) {
        return new ShadowPackages(shell, new ChangelogPlaces(docs.toString(), bundle.toString(), aptCache.toString()));
    }

    static PackageChange upgrade(String name, String old, String now) {
        return upgrade(name, old, now, "amd64");
    }

    static PackageChange upgrade(String name, String old, String now, String architecture) {
        return new PackageChange(name, Kind.UPGRADED, old, now, architecture, null, List.of(), null, null);
    }

    static Map<String, PackageChange> byName(List<PackageChange> changes) {
        Map<String, PackageChange> byName = new java.util.HashMap<>();
        changes.forEach(c -> byName.put(c.name(), c));
        return byName;
    }

    void changelog(String dir, String fileName, String text) throws IOException {
        Files.createDirectories(docs.resolve(dir));
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(docs.resolve(dir).resolve(fileName)))) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test @DisplayName("one call reads every upgraded package's changelog, through a symlinked doc directory, down to the old version")
    void readsTheChangelogsOfEveryUpgradeInOneCall() throws IOException {
        changelog("openssl", "changelog.Debian.gz", ChangelogSecurityTest.changelog("openssl"));
        Files.createSymbolicLink(docs.resolve("libssl3"), Path.of("openssl")); // as Debian links a library's doc directory
        changelog("less", "changelog.Debian.gz", ChangelogSecurityTest.changelog("less"));
        changelog("native-tool", "changelog.gz", "native-tool (2.0) bookworm; urgency=medium\n\n  * Fix CVE-2026-7777.\n\n"
                + " -- A <a@example.org>  Mon, 01 Jan 2026 00:00:00 +0000\n\nnative-tool (1.0) bookworm; urgency=low\n\n  * CVE-2020-1.\n");
        Files.createDirectories(docs.resolve("no-changelog"));
        CountingShell shell = new CountingShell(new LocalShell());

        List<PackageChange> changes = reader(shell).withSecurity(SHADOW, List.of(
                upgrade("less", "590-2", "590-2.1~deb12u2"),
                upgrade("libssl3", "3.0.18-1~deb12u2", "3.0.19-1~deb12u2"),
                new PackageChange("linux-image-6.1.0-28-amd64", Kind.INSTALLED, null, "6.1.119-1", "amd64", null, List.of(), null, null),
                upgrade("native-tool", "1.0", "2.0"),
                upgrade("no-changelog", "1.0", "1.1"),
                upgrade("no-doc-at-all", "1.0", "1.1")));

        assertThat(shell.calls).as("one SSH call for all changelogs").isEqualTo(1);
        Map<String, PackageChange> byName = byName(changes);
        assertThat(byName.get("less").securityIds()).containsExactly("CVE-2022-48624", "CVE-2024-32487");
        assertThat(byName.get("less").changelog()).isEqualTo("3 changelog entries after 590-2 (with 590-2.1, the upload this version"
                + " rebuilds); read from the installed changelog");
        assertThat(byName.get("less").changelogSource()).isEqualTo(ChangelogSource.INSTALLED);
        assertThat(byName.get("libssl3").securityIds())
                .containsExactly("CVE-2026-28387", "CVE-2026-28389", "CVE-2026-28390", "CVE-2026-31789", "CVE-2026-31790");
        assertThat(byName.get("libssl3").changelog()).isEqualTo("2 changelog entries after 3.0.18-1~deb12u2; read from the installed changelog");
        assertThat(byName.get("native-tool").securityIds()).containsExactly("CVE-2026-7777");
        assertThat(byName.get("no-changelog").changelog()).isEqualTo("no changelog readable: none installed in " + docs
                + "/no-changelog, no archive of no-changelog 1.1 (amd64) in " + bundle + " or " + aptCache);
        assertThat(byName.get("no-changelog").changelogSource()).isEqualTo(ChangelogSource.NONE);
        assertThat(byName.get("no-doc-at-all").changelog()).startsWith("no changelog readable: none installed in " + docs + "/no-doc-at-all,");
        assertThat(byName.get("linux-image-6.1.0-28-amd64").changelog()).as("a new package: nothing to compare with").isNull();
        assertThat(byName.get("linux-image-6.1.0-28-amd64").changelogSource()).isNull();
        assertThat(changes).extracting(PackageChange::name).as("the order kept").containsExactly("less", "libssl3",
                "linux-image-6.1.0-28-amd64", "native-tool", "no-changelog", "no-doc-at-all");
    }

    /** The top of a bookworm expat changelog: three security updates after 2.5.0-1+deb12u2. */
    static final String EXPAT = """
            expat (2.5.0-1+deb12u5) bookworm-security; urgency=medium

              * Fix CVE-2025-59375: uncontrolled allocation of large memory.

             -- Security Team <team@security.debian.org>  Mon, 01 Dec 2025 00:00:00 +0000

            expat (2.5.0-1+deb12u4) bookworm-security; urgency=medium

              * Fix CVE-2024-8176 (stack overflow on deeply nested entities).

             -- Security Team <team@security.debian.org>  Mon, 01 Sep 2025 00:00:00 +0000

            expat (2.5.0-1+deb12u3) bookworm; urgency=medium

              * Fix CVE-2024-45490, CVE-2024-45491 and CVE-2024-45492.

             -- Security Team <team@security.debian.org>  Mon, 01 Apr 2025 00:00:00 +0000

            expat (2.5.0-1+deb12u2) bookworm; urgency=medium

              * Fix CVE-2024-28757 (already installed).
            """;

    @Test @DisplayName("no doc installed (dpkg's path-exclude): each changelog is read from the archive the patch installed,"
            + " a linked doc directory from the linked package's archive, and one found nowhere is said on its row and in the headline")
    void readsTheChangelogsFromThePackageArchivesWhenNoDocIsInstalled() throws IOException {
        TestDebs debs = new TestDebs(work.resolve("build"));
        debs.deb("libexpat1", "2.5.0-1+deb12u5", "amd64").gzip("usr/share/doc/libexpat1/changelog.Debian.gz", EXPAT)
                .gzip("usr/share/doc/libexpat1/changelog.gz", "Release 2.7.0\n  #999 CVE-2099-0001 (upstream's, not Debian's)\n")
                .buildInto(bundle);
        debs.deb("openssl", "3.0.19-1~deb12u2", "amd64")
                .gzip("usr/share/doc/openssl/changelog.Debian.gz", ChangelogSecurityTest.changelog("openssl")).buildInto(bundle);
        debs.deb("libssl3", "3.0.19-1~deb12u2", "amd64").docLinkedTo("openssl").buildInto(bundle);
        debs.deb("stale", "1.0", "amd64").gzip("usr/share/doc/stale/changelog.Debian.gz", "stale (1.0) bookworm; urgency=low\n\n"
                + "  * CVE-2020-0001\n").buildInto(aptCache); // the version before: not this upgrade's archive
        debs.deb("tool", "1:2.0", "all").gzip("usr/share/doc/tool/changelog.gz", "tool (1:2.0) bookworm; urgency=medium\n\n"
                + "  * Fix DSA-6001-1.\n\n -- A <a@example.org>  Mon, 01 Jan 2026 00:00:00 +0000\n\ntool (1:1.0) bookworm; urgency=low\n")
                .buildInto(aptCache); // a native package in apt's cache, its epoch written %3a
        debs.deb("pool-copy", "1:1.1-1", "amd64").gzip("usr/share/doc/pool-copy/changelog.Debian.gz",
                "pool-copy (1:1.1-1) bookworm; urgency=medium\n\n  * CVE-2026-1234\n\npool-copy (1:1.0-1) bookworm; urgency=low\n")
                .buildInto(bundle, "pool-copy_1.1-1_amd64.deb"); // a pool file's name drops the epoch: the fields decide
        debs.deb("orphan", "1.1", "amd64").docLinkedTo("orphan-common").buildInto(bundle);
        debs.deb("docless", "1.1", "amd64").gzip("usr/share/doc/docless/README.gz", "no changelog here\n").buildInto(bundle);
        Files.createDirectories(docs.resolve("libexpat1")); // what path-include keeps of it
        Files.writeString(docs.resolve("libexpat1/copyright"), "Copyright: expat's authors\n");
        CountingShell shell = new CountingShell(new LocalShell());

        List<PackageChange> changes = reader(shell).withSecurity(SHADOW, List.of(
                upgrade("docless", "1.0", "1.1"),
                upgrade("libexpat1", "2.5.0-1+deb12u2", "2.5.0-1+deb12u5"),
                upgrade("libssl3", "3.0.18-1~deb12u2", "3.0.19-1~deb12u2"),
                upgrade("orphan", "1.0", "1.1"),
                upgrade("pool-copy", "1:1.0-1", "1:1.1-1"),
                upgrade("stale", "1.0", "1.1"),
                upgrade("tool", "1:1.0", "1:2.0", "all")));

        assertThat(shell.calls).as("one SSH call for all changelogs").isEqualTo(1);
        Map<String, PackageChange> byName = byName(changes);
        assertThat(byName.get("libexpat1").securityIds())
                .containsExactly("CVE-2024-8176", "CVE-2024-45490", "CVE-2024-45491", "CVE-2024-45492", "CVE-2025-59375");
        assertThat(byName.get("libexpat1").changelog())
                .isEqualTo("3 changelog entries after 2.5.0-1+deb12u2; read from the patch bundle's package archive");
        assertThat(byName.get("libexpat1").changelogSource()).isEqualTo(ChangelogSource.PATCH_BUNDLE);
        assertThat(byName.get("libssl3").securityIds())
                .containsExactly("CVE-2026-28387", "CVE-2026-28389", "CVE-2026-28390", "CVE-2026-31789", "CVE-2026-31790");
        assertThat(byName.get("libssl3").changelog()).isEqualTo("2 changelog entries after 3.0.18-1~deb12u2; read from the patch"
                + " bundle's package archive of openssl (libssl3's doc directory links to openssl's)");
        assertThat(byName.get("tool").securityIds()).containsExactly("DSA-6001-1");
        assertThat(byName.get("tool").changelogSource()).isEqualTo(ChangelogSource.APT_CACHE);
        assertThat(byName.get("pool-copy").securityIds()).containsExactly("CVE-2026-1234");
        assertThat(byName.get("orphan").changelog()).isEqualTo("no changelog readable: none installed in " + docs + "/orphan; its archive in "
                + bundle + " links its doc directory to orphan-common, and no archive of orphan-common 1.1 with a changelog is in "
                + bundle + " or " + aptCache);
        assertThat(byName.get("docless").changelog())
                .isEqualTo("no changelog readable: none installed in " + docs + "/docless, none in its archive in " + bundle);
        assertThat(byName.get("stale").changelog()).endsWith(", no archive of stale 1.1 (amd64) in " + bundle + " or " + aptCache);
        assertThat(PackageReport.known(changes, 0).headline()).isEqualTo("7 package(s) changed (7 upgraded); 11 CVE, 1 DSA fixed;"
                + " no changelog readable for 3 of 7 upgrade(s), so their CVE, DSA and DLA ids are unknown: docless, orphan, stale.");
    }

    @Test @DisplayName("no changelog installed and no archive of the new versions: every row says so, the headline never says 'no CVE ids'")
    void noChangelogAnywhereIsSaidNotTakenForNoFixes() {
        List<PackageChange> changes = reader(new LocalShell()).withSecurity(SHADOW, List.of(
                upgrade("libexpat1", "2.5.0-1+deb12u2", "2.5.0-1+deb12u5"),
                upgrade("libssl3", "3.0.18-1~deb12u2", "3.0.19-1~deb12u2"),
                new PackageChange("linux-image-6.1.0-28-amd64", Kind.INSTALLED, null, "6.1.119-1", "amd64", null, List.of(), null, null)));

        assertThat(changes.subList(0, 2)).allSatisfy(c -> {
            assertThat(c.changelogSource()).isEqualTo(ChangelogSource.NONE);
            assertThat(c.changelog()).isEqualTo("no changelog readable: none installed in " + docs + "/" + c.name() + ", no archive of "
                    + c.name() + " " + c.newVersion() + " (amd64) in " + bundle + " or " + aptCache);
        });
        PackageReport report = PackageReport.known(changes, 0);
        assertThat(report.headline()).isEqualTo("3 package(s) changed (1 new, 2 upgraded); no changelog readable for 2 of 2"
                + " upgrade(s), so their CVE, DSA and DLA ids are unknown: libexpat1, libssl3.").doesNotContain("no CVE");
        assertThat(report.summary()).contains("  libexpat1 2.5.0-1+deb12u2 -> 2.5.0-1+deb12u5 (upgraded, no changelog readable)\n");
    }

    @Test @DisplayName("the guest stops reading at the old version's entry: the output holds only what the parser needs")
    void theGuestStopsAtTheOldVersion() throws IOException {
        changelog("openssl", "changelog.Debian.gz", ChangelogSecurityTest.changelog("openssl"));
        String output = new LocalShell().run(SHADOW, GuestChangelogs.command(List.of(upgrade("openssl", "3.0.18-1~deb12u2",
                "3.0.19-1~deb12u2")), new ChangelogPlaces(docs.toString(), bundle.toString(), aptCache.toString())), Duration.ofSeconds(30)).stdout();
        String text = GuestChangelogs.parse(output).get("openssl").text();
        assertThat(text).startsWith("openssl (3.0.19-1~deb12u2) bookworm-security; urgency=medium")
                .contains("openssl (3.0.18-1~deb12u2) bookworm-security").doesNotContain("3.0.18-1~deb12u1");
    }

    @Test @DisplayName("a binNMU's old version (+bN) has no entry of its own: the guest stops at its source version's entry")
    void theGuestStopsAtABinNmusSourceVersion() throws IOException {
        changelog("openssl", "changelog.Debian.gz", ChangelogSecurityTest.changelog("openssl"));
        String output = new LocalShell().run(SHADOW, GuestChangelogs.command(List.of(upgrade("openssl", "3.0.18-1~deb12u2+b1",
                "3.0.19-1~deb12u2")), new ChangelogPlaces(docs.toString(), bundle.toString(), aptCache.toString())), Duration.ofSeconds(30)).stdout();
        assertThat(GuestChangelogs.parse(output).get("openssl").text()).contains("openssl (3.0.18-1~deb12u2) bookworm-security")
                .doesNotContain("3.0.18-1~deb12u1");
    }

    @Test @DisplayName("the output of all changelogs cut: the cut package is read as far as it goes, the ones after are said to be missing")
    void sectionsOfACutOutput() {
        Map<String, GuestChangelogs.Result> results = GuestChangelogs.parse("\u001e a\n\u001e@installed\nfoo (2) x; urgency=low\n"
                + "  * CVE-2026-1111\n\n\u001e b\n\u001e!none\n\u001e c\n\u001e@bundle\nbar (2) x; urgency=low\n  * CVE-2026-22\n"
                + "\u001e e\n\u001e!link apt e-common\n\u001e f\n\u001e@apt f-common\nbaz (2) x; urgency=low\n\u001e h\n\u001e!late\n"
                + "\u001e g\n\u001e!la");
        assertThat(results).containsOnlyKeys("a", "b", "c", "e", "f", "h");
        assertThat(results.get("h").describe(upgrade("h", "1", "2"), ChangelogPlaces.IN_GUEST)).isEqualTo("no changelog readable:"
                + " none installed in /usr/share/doc/h, and the 60 s for reading package archives ran out before its");
        assertThat(results.get("b").absence()).isEqualTo(GuestChangelogs.Absence.NO_ARCHIVE);
        assertThat(results.get("a").text()).contains("CVE-2026-1111");
        assertThat(results.get("c").source()).isEqualTo(ChangelogSource.PATCH_BUNDLE);
        assertThat(results.get("e")).extracting(GuestChangelogs.Result::archive, GuestChangelogs.Result::linkedTo)
                .containsExactly(ChangelogSource.APT_CACHE, "e-common");
        assertThat(results.get("f")).extracting(GuestChangelogs.Result::source, GuestChangelogs.Result::linkedTo)
                .containsExactly(ChangelogSource.APT_CACHE, "f-common");
        PackageChange d = reader(new Answering("\u001e a\n\u001e@installed\n"))
                .withSecurity(SHADOW, List.of(upgrade("a", "1", "2"), upgrade("d", "1", "2"))).get(1);
        assertThat(d.changelog()).isEqualTo("no changelog read: the output of all changelogs was cut before it");
        assertThat(d.changelogSource()).isEqualTo(ChangelogSource.NONE);
    }

    @Test @DisplayName("a section whose marker is not ours (a forged or cut line) is left out, never taken for a text")
    void foreignMarkersAreLeftOut() {
        assertThat(GuestChangelogs.parse("\u001e a\n\u001e@elsewhere\nfoo (2) x; urgency=low\n\u001e b\n\u001e@bundle ../x\n"
                + "\u001e c\n\u001e!empty installed\n\u001e d\nfoo (2) x; urgency=low\n")).isEmpty();
    }

    @Test @DisplayName("a shadow that does not answer: the changes stay, each upgrade says its changelog was not read")
    void aShadowThatDoesNotAnswerLeavesTheChangesWithAReason() {
        GuestShell down = new Answering(null);
        List<PackageChange> changes = new ShadowPackages(down).withSecurity(SHADOW, List.of(upgrade("a", "1", "2")));
        assertThat(changes).singleElement().satisfies(c -> {
            assertThat(c.securityIds()).isEmpty();
            assertThat(c.changelog()).isEqualTo("no changelog read: the shadow did not answer");
            assertThat(c.changelogUnread()).isTrue();
        });
        assertThatThrownBy(() -> new ShadowPackages(down).installed(SHADOW)).isInstanceOf(ShadowPackages.Unknown.class)
                .hasMessage("the shadow did not answer: connect to root@192.0.2.7:22 timed out");
    }

    @Test @DisplayName("dpkg-query failing or printing no package: unknown, in our words, never the guest's output")
    void unreadableDatabases() {
        assertThatThrownBy(() -> new ShadowPackages(new Answering("DB_PASSWORD=hunter2\n", 2)).installed(SHADOW))
                .hasMessage("dpkg-query failed in the shadow (exit 2)");
        assertThatThrownBy(() -> new ShadowPackages(new Answering("DB_PASSWORD=hunter2\n", 0)).installed(SHADOW))
                .hasMessage("dpkg-query printed no package (1 line(s) of something else)");
        assertThat(new ShadowPackages(new Answering("acl\t2.3.1-3\tamd64\tii \n", 0)).installed(SHADOW).packages())
                .extracting(InstalledPackage::name).containsExactly("acl");
    }

    /** Answers every command with one output (null: the guest does not answer). */
    static final class Answering implements GuestShell {
        final String output;
        final int exitCode;

        Answering(String output) { this(output, 0); }

        Answering(String output, int exitCode) {
            this.output = output;
            this.exitCode = exitCode;
        }

        @Override
        public CommandResult run(GuestTarget target, String command, Duration timeout) {
            if (output == null) throw new GuestException("connect to root@192.0.2.7:22 timed out");
            return new CommandResult(command, exitCode, output, "", Duration.ZERO);
        }

        @Override public void upload(GuestTarget target, Path localFile, String remotePath) { throw new UnsupportedOperationException(); }

        @Override public void download(GuestTarget target, String remotePath, Path localFile) { throw new UnsupportedOperationException(); }
    }

    static final class CountingShell implements GuestShell {
        final GuestShell inner;
        int calls;

        CountingShell(GuestShell inner) { this.inner = inner; }

        @Override
        public CommandResult run(GuestTarget target, String command, Duration timeout) {
            calls++;
            return inner.run(target, command, timeout);
        }

        @Override public void upload(GuestTarget target, Path localFile, String remotePath) { inner.upload(target, localFile, remotePath); }

        @Override public void download(GuestTarget target, String remotePath, Path localFile) { inner.download(target, remotePath, localFile); }
    }
}
