package dev.shadowpatch.evidence;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

import java.util.List;

/**
 * One package the patch changed in the shadow, from its dpkg database before and after.
 *
 * @param oldVersion      null for a new package
 * @param newVersion      null for a removed one
 * @param architecture    the package's architecture; {@code old -> new} when it changed
 * @param unfinished      what dpkg says of a package the patch left not fully installed, else null
 * @param securityIds     CVE, DSA and DLA ids its changelog names between the two versions
 * @param changelog       how those ids were found (entries read, no changelog, cut short), else null
 * @param changelogSource where that changelog was read ({@link ChangelogSource#NONE}: nowhere), null where none was sought
 */
public record PackageChange(String name, Kind kind, String oldVersion, String newVersion, String architecture,
                            String unfinished, List<String> securityIds, String changelog, ChangelogSource changelogSource) {

    public PackageChange {
        securityIds = securityIds == null ? List.of() : List.copyOf(securityIds);
    }

    /** What happened to the package. Identity is the constant; {@link #word} is what the operator reads. */
    public enum Kind {
        UPGRADED("upgraded"),
        DOWNGRADED("downgraded"),
        INSTALLED("new"),
        REMOVED("removed"),
        /** the same name on another architecture (e.g. {@code amd64 -> all}), its version compared as usual */
        ARCHITECTURE("architecture changed"),
        /** the same version, left half-configured or unpacked where it was installed before */
        UNFINISHED("left unfinished");

        private final String word;

        Kind(String word) { this.word = word; }

        @JsonValue
        public String word() { return word; }

        @JsonCreator
        public static Kind parse(String w) {
            for (Kind k : values()) if (k.word.equals(w) || k.name().equals(w)) return k;
            throw new IllegalArgumentException("unknown package change '" + w + "'");
        }

        @Override
        public String toString() { return word; }
    }

    /** Whether its changelog can name what it fixes: a newer version of a package that was there before. */
    public boolean newerThanBefore() {
        if (oldVersion == null || newVersion == null) return false;
        return DebianVersion.parse(newVersion).compareTo(DebianVersion.parse(oldVersion)) > 0;
    }

    public PackageChange withSecurity(List<String> ids, String how, ChangelogSource source) {
        return new PackageChange(name, kind, oldVersion, newVersion, architecture, unfinished, ids, how, source);
    }

    /** Whether its changelog was sought and no text of it was read: its ids are unknown, not absent. */
    public boolean changelogUnread() {
        return changelogSource == ChangelogSource.NONE;
    }

    /** The architecture it has now ({@code all} of {@code amd64 -> all}). */
    public String newArchitecture() {
        int arrow = architecture.lastIndexOf(" -> ");
        return arrow < 0 ? architecture : architecture.substring(arrow + 4);
    }

    /** {@code old -> new}, with {@code (none)} for a side that has no version. */
    public String versions() {
        return (oldVersion == null ? "(none)" : oldVersion) + " -> " + (newVersion == null ? "(none)" : newVersion);
    }
}
