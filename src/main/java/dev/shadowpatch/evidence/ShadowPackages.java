package dev.shadowpatch.evidence;

import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.guest.GuestException;
import dev.shadowpatch.guest.GuestShell;
import dev.shadowpatch.guest.GuestTarget;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * Reads the packages of a guest over SSH: its dpkg database, and the tops of the changelogs of the
 * packages a patch upgraded, all in one call. Only reads: a file written in the shadow would be merged
 * into the live VM. The guest's output is bounded and parsed by the pure classes of this package;
 * reasons given for a failure are ours, never guest output.
 */
public class ShadowPackages {
    static final Duration READ_TIMEOUT = Duration.ofSeconds(30);
    /** The top of one changelog, enough for many security updates of a package (a kernel's one entry is larger). */
    static final int CHANGELOG_BYTES = 128 * 1024;
    /** All changelogs of one call, below the SSH shell's own bound on a command's output. */
    static final int CHANGELOGS_BYTES = 3 * 1024 * 1024;
    /** Starts a package's section in the changelog output (ASCII RS: not in a changelog's text). */
    static final String SECTION = "\u001e ";
    static final String NO_CHANGELOG = "\u001e!none";

    private final GuestShell shell;
    private final String docRoot;

    public ShadowPackages(GuestShell shell) {
        this(shell, "/usr/share/doc");
    }

    /** Reading the doc directories under another root (a test's tree); the root must need no quoting. */
    ShadowPackages(GuestShell shell, String docRoot) {
        this.shell = shell;
        this.docRoot = docRoot;
    }

    /** The guest's packages cannot be read; the reason is in words for the approver. */
    public static class Unknown extends RuntimeException {
        public Unknown(String reason) {
            super(reason);
        }
    }

    /** The guest's dpkg database now. @throws Unknown when it cannot be read */
    public InstalledPackage.Listing installed(GuestTarget guest) {
        CommandResult r;
        try {
            r = shell.run(guest, InstalledPackage.DPKG_QUERY, READ_TIMEOUT);
        } catch (GuestException e) {
            throw new Unknown("the shadow did not answer: " + e.getMessage());
        }
        if (!r.succeeded()) {
            throw new Unknown("dpkg-query failed in the shadow (exit " + r.exitCode() + ")");
        }
        InstalledPackage.Listing listing = InstalledPackage.Listing.parse(r.stdout());
        if (listing.packages().isEmpty()) {
            throw new Unknown("dpkg-query printed no package (" + listing.malformedLines() + " line(s) of something else)");
        }
        return listing;
    }

    /**
     * The changes with the security ids each upgrade brings, read from the changelogs in the guest.
     * A changelog that cannot be read is said on its row; it never fails the others.
     */
    public List<PackageChange> withSecurity(GuestTarget guest, List<PackageChange> changes) {
        List<PackageChange> upgrades = changes.stream().filter(PackageChange::newerThanBefore).toList();
        if (upgrades.isEmpty()) {
            return changes;
        }
        Map<String, String> sections;
        try {
            CommandResult r = shell.run(guest, changelogCommand(upgrades, docRoot), READ_TIMEOUT);
            sections = sections(r.stdout());
        } catch (GuestException e) {
            return changes.stream().map(c -> c.newerThanBefore()
                    ? c.withSecurity(List.of(), "changelog not read: the shadow did not answer") : c).toList();
        }
        return changes.stream().map(c -> c.newerThanBefore() ? security(c, sections) : c).toList();
    }

    private PackageChange security(PackageChange c, Map<String, String> sections) {
        if (!sections.containsKey(c.name())) {
            return c.withSecurity(List.of(), "changelog not read: the output of all changelogs was cut before it");
        }
        String text = sections.get(c.name());
        if (text == null) {
            return c.withSecurity(List.of(), "no changelog in " + docRoot + "/" + c.name());
        }
        ChangelogSecurity.Finding f = ChangelogSecurity.between(text, DebianVersion.parse(c.oldVersion()),
                DebianVersion.parse(c.newVersion()));
        return c.withSecurity(f.ids(), f.describe(c.oldVersion()));
    }

    /**
     * One shell command for the changelogs of all {@code upgrades} (their names and versions are
     * checked by {@link InstalledPackage}, so they are safe in single quotes). Per package: a section
     * line, then its Debian changelog (through a symlinked doc directory too; a native package's is
     * changelog.gz) down to the old version's entry, at most {@link #CHANGELOG_BYTES}.
     */
    static String changelogCommand(List<PackageChange> upgrades, String docRoot) {
        StringBuilder cmd = new StringBuilder("sp_cl() { d=" + docRoot + "/$1; f=$d/changelog.Debian.gz;"
                + " [ -f \"$f\" ] || f=$d/changelog.gz; printf '\\036 %s\\n' \"$1\";"
                + " if [ -f \"$f\" ]; then zcat -- \"$f\" 2>/dev/null"
                + " | awk -v h=\"($2)\" '{ print } /^[^ \\t]/ && index($0, h) { exit }'"
                + " | head -c " + CHANGELOG_BYTES + "; printf '\\n'; else printf '\\036!none\\n'; fi; }; {");
        for (String name : new LinkedHashSet<>(upgrades.stream().map(PackageChange::name).toList())) {
            String old = upgrades.stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow().oldVersion();
            cmd.append(" sp_cl '").append(name).append("' '").append(old).append("';");
        }
        return cmd.append(" } | head -c ").append(CHANGELOGS_BYTES).toString();
    }

    /** The output of {@link #changelogCommand}: each package's text, null for one without a changelog. */
    static Map<String, String> sections(String output) {
        Map<String, String> sections = new LinkedHashMap<>();
        String name = null;
        List<String> lines = new ArrayList<>();
        for (String line : output.split("\n", -1)) {
            if (line.startsWith(SECTION)) {
                if (name != null) sections.put(name, String.join("\n", lines));
                name = line.substring(SECTION.length());
                lines.clear();
            } else if (line.equals(NO_CHANGELOG) && name != null) {
                sections.put(name, null);
                name = null;
            } else if (name != null) {
                lines.add(line);
            }
        }
        if (name != null) sections.put(name, String.join("\n", lines));
        return sections;
    }
}
