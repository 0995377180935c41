package dev.shadowpatch.evidence;

import dev.shadowpatch.evidence.PackageChange.Kind;
import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.guest.GuestException;
import dev.shadowpatch.guest.GuestShell;
import dev.shadowpatch.guest.GuestTarget;
import dev.shadowpatch.testing.LocalShell;
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
 * The guest side for real in this host's sh (zcat, awk, head as in a Debian guest) over a doc tree
 * of real changelogs: one call for all upgrades, symlinked doc directories, native packages, a
 * package without a changelog. And what a failing guest leaves: a reason, never a failed step.
 */
class ShadowPackagesTest {
    static final GuestTarget SHADOW = GuestTarget.direct("192.0.2.7", "root");

    @TempDir Path docs;

    static PackageChange upgrade(String name, String old, String now) {
        return new PackageChange(name, Kind.UPGRADED, old, now, "amd64", null, List.of(), null);
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

        List<PackageChange> changes = new ShadowPackages(shell, docs.toString()).withSecurity(SHADOW, List.of(
                upgrade("less", "590-2", "590-2.1~deb12u2"),
                upgrade("libssl3", "3.0.18-1~deb12u2", "3.0.19-1~deb12u2"),
                new PackageChange("linux-image-6.1.0-28-amd64", Kind.INSTALLED, null, "6.1.119-1", "amd64", null, List.of(), null),
                upgrade("native-tool", "1.0", "2.0"),
                upgrade("no-changelog", "1.0", "1.1"),
                upgrade("no-doc-at-all", "1.0", "1.1")));

        assertThat(shell.calls).as("one SSH call for all changelogs").isEqualTo(1);
        Map<String, PackageChange> byName = new java.util.HashMap<>();
        changes.forEach(c -> byName.put(c.name(), c));
        assertThat(byName.get("less").securityIds()).containsExactly("CVE-2022-48624", "CVE-2024-32487");
        assertThat(byName.get("less").changelog()).isEqualTo("3 changelog entries after 590-2 (with 590-2.1, the upload this version rebuilds)");
        assertThat(byName.get("libssl3").securityIds())
                .containsExactly("CVE-2026-28387", "CVE-2026-28389", "CVE-2026-28390", "CVE-2026-31789", "CVE-2026-31790");
        assertThat(byName.get("libssl3").changelog()).isEqualTo("2 changelog entries after 3.0.18-1~deb12u2");
        assertThat(byName.get("native-tool").securityIds()).containsExactly("CVE-2026-7777");
        assertThat(byName.get("no-changelog").changelog()).isEqualTo("no changelog in " + docs + "/no-changelog");
        assertThat(byName.get("no-doc-at-all").changelog()).isEqualTo("no changelog in " + docs + "/no-doc-at-all");
        assertThat(byName.get("linux-image-6.1.0-28-amd64").changelog()).as("a new package: nothing to compare with").isNull();
        assertThat(changes).extracting(PackageChange::name).as("the order kept").containsExactly("less", "libssl3",
                "linux-image-6.1.0-28-amd64", "native-tool", "no-changelog", "no-doc-at-all");
    }

    @Test @DisplayName("the guest stops reading at the old version's entry: the output holds only what the parser needs")
    void theGuestStopsAtTheOldVersion() throws IOException {
        changelog("openssl", "changelog.Debian.gz", ChangelogSecurityTest.changelog("openssl"));
        String output = new LocalShell().run(SHADOW, ShadowPackages.changelogCommand(
                List.of(upgrade("openssl", "3.0.18-1~deb12u2", "3.0.19-1~deb12u2")), docs.toString()), Duration.ofSeconds(30)).stdout();
        String text = ShadowPackages.sections(output).get("openssl");
        assertThat(text).startsWith("openssl (3.0.19-1~deb12u2) bookworm-security; urgency=medium")
                .contains("openssl (3.0.18-1~deb12u2) bookworm-security").doesNotContain("3.0.18-1~deb12u1");
    }

    @Test @DisplayName("the output of all changelogs cut: the cut package is read as far as it goes, the ones after are said to be missing")
    void sectionsOfACutOutput() {
        Map<String, String> sections = ShadowPackages.sections("\u001e a\nfoo (2) x; urgency=low\n  * CVE-2026-1111\n\n"
                + "\u001e b\n\u001e!none\n\u001e c\nbar (2) x; urgency=low\n  * CVE-2026-22");
        assertThat(sections).containsOnlyKeys("a", "b", "c");
        assertThat(sections.get("b")).isNull();
        assertThat(sections.get("a")).contains("CVE-2026-1111");
        PackageChange d = new ShadowPackages(new Answering("\u001e a\n"), "/usr/share/doc")
                .withSecurity(SHADOW, List.of(upgrade("a", "1", "2"), upgrade("d", "1", "2"))).get(1);
        assertThat(d.changelog()).isEqualTo("changelog not read: the output of all changelogs was cut before it");
    }

    @Test @DisplayName("a shadow that does not answer: the changes stay, each upgrade says its changelog was not read")
    void aShadowThatDoesNotAnswerLeavesTheChangesWithAReason() {
        GuestShell down = new Answering(null);
        List<PackageChange> changes = new ShadowPackages(down).withSecurity(SHADOW, List.of(upgrade("a", "1", "2")));
        assertThat(changes).singleElement().satisfies(c -> {
            assertThat(c.securityIds()).isEmpty();
            assertThat(c.changelog()).isEqualTo("changelog not read: the shadow did not answer");
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
