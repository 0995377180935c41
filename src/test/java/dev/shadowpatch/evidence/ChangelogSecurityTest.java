package dev.shadowpatch.evidence;

import dev.shadowpatch.evidence.ChangelogSecurity.Finding;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The changelog parser on real Debian 12 changelogs (src/test/resources/changelogs: the tops of
 * libssl3's, libc6's, less's and dnsmasq-base's changelog.Debian.gz as installed on a bookworm host).
 */
class ChangelogSecurityTest {

    static String changelog(String name) {
        try (InputStream in = ChangelogSecurityTest.class.getResourceAsStream("/changelogs/" + name + ".txt")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static Finding between(String text, String old, String installed) {
        return ChangelogSecurity.between(text, DebianVersion.parse(old), DebianVersion.parse(installed));
    }

    @Test @DisplayName("openssl 3.0.17-1~deb12u3 -> 3.0.19-1~deb12u2: the CVEs of the four entries in between, not the old version's")
    void opensslOverFourEntries() {
        Finding f = between(changelog("openssl"), "3.0.17-1~deb12u3", "3.0.19-1~deb12u2");
        assertEquals(List.of("CVE-2025-15467", "CVE-2025-68160", "CVE-2025-69418", "CVE-2025-69419", "CVE-2025-69420",
                "CVE-2025-69421", "CVE-2026-22795", "CVE-2026-22796", "CVE-2026-28387", "CVE-2026-28389", "CVE-2026-28390",
                "CVE-2026-31789", "CVE-2026-31790"), f.ids());
        assertEquals(4, f.entries());
        assertTrue(f.reachedOld());
        assertFalse(f.ids().contains("CVE-2025-9230"), "fixed in the old version already");
        assertEquals("4 changelog entries after 3.0.17-1~deb12u3", f.describe("3.0.17-1~deb12u3"));
    }

    @Test @DisplayName("openssl one security update: only its own CVEs")
    void opensslOneUpdate() {
        assertEquals(List.of("CVE-2026-28387", "CVE-2026-28389", "CVE-2026-28390", "CVE-2026-31789", "CVE-2026-31790"),
                between(changelog("openssl"), "3.0.18-1~deb12u2", "3.0.19-1~deb12u2").ids());
    }

    @Test @DisplayName("glibc: ids in prose, after GLIBC-SA, in patch names; sorted by number")
    void glibc() {
        Finding f = between(changelog("glibc"), "2.36-9+deb12u10", "2.36-9+deb12u14");
        assertEquals(List.of("CVE-2025-4802", "CVE-2025-8058", "CVE-2025-15281", "CVE-2026-0861", "CVE-2026-0915",
                "CVE-2026-4046", "CVE-2026-4437", "CVE-2026-4438"), f.ids());
        assertEquals(4, f.entries());
    }

    @Test @DisplayName("a changelog read that ends before the old version: its ids, and the gap said")
    void doesNotReachTheOldVersion() {
        Finding f = between(changelog("glibc"), "2.36-9+deb12u7", "2.36-9+deb12u14");
        assertFalse(f.reachedOld());
        assertEquals(7, f.entries());
        assertTrue(f.ids().containsAll(List.of("CVE-2024-2961", "CVE-2024-33599", "CVE-2024-33600", "CVE-2024-33601",
                "CVE-2024-33602")), f.ids().toString());
        assertEquals("7 changelog entries after 2.36-9+deb12u7; the changelog read does not reach 2.36-9+deb12u7"
                + " (it ends at 2.36-9+deb12u8): ids of older entries may be missing", f.describe("2.36-9+deb12u7"));
    }

    @Test @DisplayName("less 590-2 -> 590-2.1~deb12u1: the security rebuild carries the unstable upload 590-2.1, which sorts above it and names the fixes")
    void aStableRebuildCountsTheUploadItRebuilds() {
        String text = changelog("less");
        String ofDeb12u1 = text.substring(text.indexOf("less (590-2.1~deb12u1)")); // the changelog as 590-2.1~deb12u1 shipped it
        Finding f = between(ofDeb12u1, "590-2", "590-2.1~deb12u1");
        assertEquals(List.of("CVE-2022-48624", "CVE-2024-32487"), f.ids());
        assertEquals(List.of("590-2.1"), f.aboveInstalled());
        assertFalse(f.ids().contains("CVE-2022-46663"), "fixed before 590-2");
        assertEquals("2 changelog entries after 590-2 (with 590-2.1, the upload this version rebuilds)", f.describe("590-2"));

        assertEquals(List.of("CVE-2022-48624", "CVE-2024-32487"), between(text, "590-2", "590-2.1~deb12u2").ids());
        assertEquals(List.of(), between(text, "590-2.1~deb12u1", "590-2.1~deb12u2").ids(), "the second update fixed no CVE");
    }

    @Test @DisplayName("dnsmasq: ids in patch file names and lists, a backport's entry included")
    void dnsmasq() {
        Finding f = between(changelog("dnsmasq"), "2.90-3", "2.90-4~deb12u2");
        assertEquals(List.of("CVE-2023-28450", "CVE-2023-50387", "CVE-2023-50868", "CVE-2026-2291", "CVE-2026-4890",
                "CVE-2026-4891", "CVE-2026-4892", "CVE-2026-4893", "CVE-2026-5172"), f.ids());
        assertEquals(3, f.entries());
    }

    @Test @DisplayName("DSA and DLA ids (a made-up LTS entry); 'DSA 2.0' from a real kernel entry is no id")
    void dsaAndDla() {
        String text = """
                foo (1.2-3+deb11u1) bullseye-security; urgency=high

                  * Non-maintainer upload by the LTS Team.
                  * Fix CVE-2023-1234 and cve-2023-12345 (DLA-3456-1).
                  * Same fix as DSA-5678-1 in bookworm; see also DSA-5679.
                  * [amd64] dmaengine: idxd: Set traffic class values in GRPCFG on DSA 2.0

                 -- Someone <someone@example.org>  Mon, 01 Jan 2024 00:00:00 +0000

                foo (1.2-3) unstable; urgency=medium

                  * Fixes CVE-2020-0001.

                 -- Someone <someone@example.org>  Mon, 01 Jan 2020 00:00:00 +0000
                """;
        assertEquals(List.of("CVE-2023-1234", "CVE-2023-12345", "DSA-5678-1", "DSA-5679", "DLA-3456-1"),
                between(text, "1.2-3", "1.2-3+deb11u1").ids());
    }

    @Test @DisplayName("a text cut in the middle of an id: the cut line is not read")
    void aCutTextLosesItsLastLineNotTheTruth() {
        String text = "foo (2.0-1) unstable; urgency=medium\n\n  * Fixes CVE-2026-1111.\n  * Fixes CVE-2026-31387\n";
        String cut = text.substring(0, text.indexOf("31387") + 4) + "\n"; // "CVE-2026-3138" + the guest's newline
        Finding f = between(cut, "1.0-1", "2.0-1");
        assertEquals(List.of("CVE-2026-1111"), f.ids(), "never CVE-2026-3138");
        assertFalse(f.reachedOld());
    }

    @Test @DisplayName("no entries, no header, an entry of no version: nothing, and said so")
    void nothingToRead() {
        assertEquals("no changelog entries", between("", "1.0", "2.0").describe("1.0"));
        assertEquals("no changelog entries", between("just text CVE-2020-1234\n", "1.0", "2.0").describe("1.0"));
        Finding f = between("foo (not a version!) unstable; urgency=low\n  * CVE-2020-9999\n"
                + "foo (1.0) unstable; urgency=low\n", "1.0", "2.0");
        assertEquals(List.of(), f.ids());
        assertTrue(f.reachedOld());
    }

    @Test @DisplayName("a binNMU upgrade (1.2-3 -> 1.2-3+b1): its changelog's top is the old version: no entry after it")
    void binNmu() {
        Finding f = between("foo (1.2-3) unstable; urgency=low\n\n  * CVE-2020-1111\n", "1.2-3", "1.2-3+b1");
        assertEquals(List.of(), f.ids());
        assertEquals("no changelog entry after 1.2-3", f.describe("1.2-3"));
    }

    @Test @DisplayName("ids: upper case, each once, CVE before DSA before DLA, by number")
    void idOrder() {
        assertEquals(List.of("CVE-2023-9999", "CVE-2024-9143", "CVE-2024-13176", "DSA-99-1", "DSA-5678-1", "DSA-5678-2", "DLA-1-1"),
                ChangelogSecurity.ids("dla-1-1 DSA-5678-2 CVE-2024-13176 DSA-5678-1 CVE-2024-9143 cve-2024-9143 DSA-99-1 CVE-2023-9999"));
    }
}
