package dev.shadowpatch.evidence;

import dev.shadowpatch.evidence.GuestChangelogs.Absence;
import dev.shadowpatch.evidence.GuestChangelogs.Result;
import dev.shadowpatch.guest.CommandResult;
import dev.shadowpatch.guest.GuestException;
import dev.shadowpatch.guest.GuestShell;
import dev.shadowpatch.guest.GuestTarget;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reads the packages of a guest over SSH: its dpkg database, and the tops of the changelogs of the
 * packages a patch upgraded, all in one call ({@link GuestChangelogs}: installed, else in the archives
 * the patch installed). Only reads: a file written in the shadow would be merged into the live VM. The
 * guest's output is bounded and parsed by the pure classes of this package; reasons given for a
 * failure are ours, never guest output.
 */
public class ShadowPackages {
    static final Duration READ_TIMEOUT = Duration.ofSeconds(30);

    private final GuestShell shell;
    private final ChangelogPlaces places;

    public ShadowPackages(GuestShell shell) {
        this(shell, ChangelogPlaces.IN_GUEST);
    }

    /** Reading the changelogs in other directories (a test's tree). */
    ShadowPackages(GuestShell shell, ChangelogPlaces places) {
        this.shell = shell;
        this.places = places;
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
        Optional<Map<String, Result>> read = changelogs(guest, upgrades);
        Map<String, Result> found = read.orElse(Map.of());
        Result otherwise = Result.unread(read.isPresent() ? Absence.OUTPUT_CUT : Absence.NO_ANSWER);
        return changes.stream().map(c -> c.newerThanBefore() ? security(c, found.getOrDefault(c.name(), otherwise)) : c).toList();
    }

    /** Each upgrade's changelog as the guest found it; empty when the guest did not answer. */
    private Optional<Map<String, Result>> changelogs(GuestTarget guest, List<PackageChange> upgrades) {
        try {
            return Optional.of(GuestChangelogs.parse(shell.run(guest, GuestChangelogs.command(upgrades, places), GuestChangelogs.TIMEOUT).stdout()));
        } catch (GuestException e) {
            return Optional.empty();
        }
    }

    private PackageChange security(PackageChange c, Result r) {
        if (!r.source().read()) {
            return c.withSecurity(List.of(), r.describe(c, places), ChangelogSource.NONE);
        }
        ChangelogSecurity.Finding f = ChangelogSecurity.between(r.text(), DebianVersion.parse(c.oldVersion()),
                DebianVersion.parse(c.newVersion()));
        return c.withSecurity(f.ids(), f.describe(c.oldVersion()) + "; " + r.describe(c, places), r.source());
    }
}
