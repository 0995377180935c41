package dev.shadowpatch.evidence;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shadowpatch.evidence.PackageChange.Kind;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/** The package report as the approver reads it (headline, summary, the form's rows) and as it is stored (JSON). */
class PackageReportTest {
    static final PackageChange OPENSSL = new PackageChange("openssl", Kind.UPGRADED, "3.0.18-1~deb12u2", "3.0.19-1~deb12u2",
            "amd64", null, List.of("CVE-2026-28387", "CVE-2026-28389"), "2 changelog entries after 3.0.18-1~deb12u2",
            ChangelogSource.INSTALLED);
    static final PackageChange LESS = new PackageChange("less", Kind.UPGRADED, "590-2", "590-2.1~deb12u1", "amd64",
            "half-configured", List.of("CVE-2022-48624", "DSA-5678-1"), "2 changelog entries after 590-2", ChangelogSource.PATCH_BUNDLE);
    static final PackageChange KERNEL = new PackageChange("linux-image-6.1.0-28-amd64", Kind.INSTALLED, null, "6.1.119-1",
            "amd64", null, List.of(), null, null);

    @Test
    void headlineAndSummaryCountKindsAndIds() {
        PackageReport report = PackageReport.known(List.of(LESS, KERNEL, OPENSSL), 0);
        assertThat(report.headline()).isEqualTo("3 package(s) changed (1 new, 2 upgraded); 3 CVE, 1 DSA fixed; 1 left not fully installed.");
        assertThat(report.summary()).isEqualTo(report.headline() + "\n"
                + "  less 590-2 -> 590-2.1~deb12u1 (upgraded, half-configured): CVE-2022-48624, DSA-5678-1\n"
                + "  linux-image-6.1.0-28-amd64 (none) -> 6.1.119-1 (new)\n"
                + "  openssl 3.0.18-1~deb12u2 -> 3.0.19-1~deb12u2 (upgraded): CVE-2026-28387, CVE-2026-28389\n");
        assertThat(PackageReport.known(List.of(KERNEL), 0).headline()).isEqualTo("1 package(s) changed (1 new); no upgrade, so no changelog to read.");
        assertThat(PackageReport.known(List.of(), 2).summary()).isEqualTo("No package changed.\n"
                + "2 line(s) of dpkg-query's output in the shadow were no package and are left out\n");
        assertThat(PackageReport.unknown("the shadow did not answer").headline()).isEqualTo("Packages unknown: the shadow did not answer");
    }

    static PackageChange upgrade(String name, List<String> ids, ChangelogSource source) {
        return new PackageChange(name, Kind.UPGRADED, "1.0-1", "1.0-1+deb12u1", "amd64", null, ids, source.read() ? "1 changelog entry after 1.0-1"
                : "no changelog readable: none installed in /usr/share/doc/" + name + ", no archive of it", source);
    }

    @Test
    void aChangelogNotReadIsCountedAndNamedNeverTakenForNoIds() {
        List<PackageChange> unread = IntStream.range(0, 32).mapToObj(i -> upgrade(String.format("lib%02d", i), List.of(), ChangelogSource.NONE))
                .toList();
        List<PackageChange> all = new java.util.ArrayList<>(unread);
        all.addAll(List.of(KERNEL, KERNEL, KERNEL));
        assertThat(PackageReport.known(all, 0).headline()).isEqualTo("35 package(s) changed (3 new, 32 upgraded); no changelog readable"
                + " for 32 of 32 upgrade(s), so their CVE, DSA and DLA ids are unknown: lib00, lib01, lib02, lib03, lib04 and 27 more.");

        PackageChange expat = upgrade("libexpat1", List.of("CVE-2024-8176"), ChangelogSource.PATCH_BUNDLE);
        PackageChange quiet = upgrade("tzdata", List.of(), ChangelogSource.INSTALLED);
        assertThat(PackageReport.known(List.of(expat, quiet, unread.get(0)), 0).headline()).isEqualTo("3 package(s) changed (3 upgraded);"
                + " 1 CVE fixed; no changelog readable for 1 of 3 upgrade(s), so their CVE, DSA and DLA ids are unknown: lib00.");
        assertThat(PackageReport.known(List.of(quiet, unread.get(0)), 0).headline()).isEqualTo("2 package(s) changed (2 upgraded);"
                + " no CVE, DSA or DLA id in the 1 changelog(s) read; no changelog readable for 1 of 2 upgrade(s), so their CVE, DSA"
                + " and DLA ids are unknown: lib00.");
        assertThat(PackageReport.known(List.of(quiet), 0).headline())
                .isEqualTo("1 package(s) changed (1 upgraded); no CVE, DSA or DLA id in the 1 changelog(s) read.");
        assertThat(PackageReport.known(List.of(expat, unread.get(0)), 0).summary()).endsWith(
                "  lib00 1.0-1 -> 1.0-1+deb12u1 (upgraded, no changelog readable)\n");
    }

    @Test
    void theFormsRowsStayWithinTheirBoundAndSayHowManyMore() throws Exception {
        List<PackageChange> many = IntStream.range(0, 200).mapToObj(i -> new PackageChange(String.format("lib%03d", i),
                Kind.UPGRADED, "1.0-1", "1.0-1+deb12u1", "amd64", null,
                IntStream.range(0, 20).mapToObj(n -> "CVE-2026-" + (10000 + n)).toList(), "1 changelog entry after 1.0-1",
                ChangelogSource.INSTALLED)).toList();
        String rows = PackageReport.known(many, 0).formRows(3500);
        assertThat(rows.length()).isLessThanOrEqualTo(3500);
        JsonNode json = new ObjectMapper().readTree(rows);
        int shown = json.get("rows").size();
        assertThat(shown).isPositive();
        assertThat(json.get("more").asInt()).isEqualTo(200 - shown);
        assertThat(json.get("rows").get(0).get("ids").asText()).endsWith("CVE-2026-10011 and 8 more");
        assertThat(json.get("rows").get(0).get("versions").asText()).isEqualTo("1.0-1 -> 1.0-1+deb12u1");
        assertThat(json.get("rows").get(0).get("changelogSource").asText()).isEqualTo("installed changelog");

        JsonNode unknown = new ObjectMapper().readTree(PackageReport.unknown("dpkg-query failed in the shadow (exit 2)").formRows(3500));
        assertThat(unknown.get("state").asText()).isEqualTo("unknown");
        assertThat(unknown.get("headline").asText()).isEqualTo("Packages unknown: dpkg-query failed in the shadow (exit 2)");
    }

    @Test
    void theJsonReadsBackTheSame() {
        PackageReport report = PackageReport.known(List.of(LESS, KERNEL, OPENSSL), 1);
        assertThat(PackageReport.fromJson(report.toJson())).isEqualTo(report);
        assertThat(new String(report.toJson())).contains("\"kind\" : \"upgraded\"").contains("\"state\" : \"known\"");
        PackageReport unknown = PackageReport.unknown("why");
        assertThat(PackageReport.fromJson(unknown.toJson())).isEqualTo(unknown);
    }
}
