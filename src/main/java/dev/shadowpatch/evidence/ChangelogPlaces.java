package dev.shadowpatch.evidence;

import dev.shadowpatch.workflow.PatchBundle;

/**
 * Where the guest command looks for an upgrade's changelog: the installed doc directories, then the
 * package archives the patch installed from (the patch bundle's directory, then apt's cache).
 * Another tree in a test; each must need no quoting beyond single quotes.
 */
record ChangelogPlaces(String docRoot, String bundleDir, String aptArchives) {
    static final ChangelogPlaces IN_GUEST = new ChangelogPlaces("/usr/share/doc", PatchBundle.GUEST_DIR, "/var/cache/apt/archives");

    ChangelogPlaces {
        for (String dir : new String[] {docRoot, bundleDir, aptArchives}) {
            if (dir.isEmpty() || dir.contains("'")) throw new IllegalArgumentException("changelog directory '" + dir + "' cannot be quoted");
        }
    }

    /** The directory of the archives of {@code source}. */
    String archives(ChangelogSource source) {
        return switch (source) {
            case PATCH_BUNDLE -> bundleDir;
            case APT_CACHE -> aptArchives;
            default -> throw new IllegalArgumentException(source + " holds no package archives");
        };
    }
}
