package dev.shadowpatch.evidence;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * The guest side of reading the upgrades' changelogs: one shell command for all of them, and its
 * output parsed. Per package, the first that has a text: the installed changelog (through a symlinked
 * doc directory; {@code changelog.gz} of a native package); else the one inside the archive the patch
 * installed, in the patch bundle's directory, then in apt's cache, matched by name, version and
 * architecture; where that archive links the package's doc directory to another package's (Debian's
 * {@code --link-doc}), the linked package's archive at the same version. A guest whose dpkg excludes
 * {@code /usr/share/doc} still has its archives. Only reads: an archive is streamed through tar to
 * stdout, nothing is unpacked in the shadow (its files are merged into the live VM) but
 * {@code dpkg-deb -W}'s temporary control files under {@code /tmp}, which the merge excludes.
 */
final class GuestChangelogs {
    /** The top of one changelog, enough for many security updates of a package (a kernel's one entry is larger). */
    static final int CHANGELOG_BYTES = 128 * 1024;
    /** All changelogs of one call, below the SSH shell's own bound on a command's output. */
    static final int CHANGELOGS_BYTES = 3 * 1024 * 1024;
    /** No archive read starts after this: a call past its deadline loses every section already read. */
    static final int ARCHIVES_SECONDS = 60;
    /** One archive read at most (a kernel's archive is the largest). */
    static final int ARCHIVE_READ_SECONDS = 20;
    /** The call: the installed changelogs, the archives' time, the read under way at its end, a margin. */
    static final Duration TIMEOUT = Duration.ofSeconds(30 + ARCHIVES_SECONDS + ARCHIVE_READ_SECONDS + 10);
    /** Starts a package's section in the output (ASCII RS: removed from the changelogs' text). */
    static final String SECTION = "\u001e ";
    /** The section's second line: a text follows, and where from ({@code installed}, {@code bundle} or {@code apt}, a linked package). */
    static final String READ = "\u001e@";
    /** The section's second line: no text, and why ({@code none}, {@code late}, {@code empty WHERE}, {@code link WHERE PACKAGE}). */
    static final String UNREAD = "\u001e!";

    private GuestChangelogs() {}

    /**
     * The shell command for the changelogs of {@code upgrades} (names, versions and architectures
     * checked by {@link InstalledPackage}, so they are safe in single quotes). Each text stops at the
     * old version's entry, at most {@link #CHANGELOG_BYTES}; the whole output at most {@link #CHANGELOGS_BYTES}.
     */
    static String command(List<PackageChange> upgrades, ChangelogPlaces places) {
        StringBuilder cmd = new StringBuilder(SCRIPT
                .replace("@DOC@", places.docRoot()).replace("@BUNDLE@", places.bundleDir()).replace("@APT@", places.aptArchives())
                .replace("@ARCHIVES_SECONDS@", String.valueOf(ARCHIVES_SECONDS))
                .replace("@READ_SECONDS@", String.valueOf(ARCHIVE_READ_SECONDS))
                .replace("@CHANGELOG_BYTES@", String.valueOf(CHANGELOG_BYTES))).append(" {");
        for (String name : new LinkedHashSet<>(upgrades.stream().map(PackageChange::name).toList())) {
            PackageChange c = upgrades.stream().filter(u -> u.name().equals(name)).findFirst().orElseThrow();
            cmd.append(" sp_cl '").append(name).append("' '").append(c.oldVersion()).append("' '").append(c.newVersion())
                    .append("' '").append(c.newArchitecture()).append("';");
        }
        return cmd.append(" } | head -c ").append(CHANGELOGS_BYTES).toString();
    }

    /*
     * sp_top: the top of the changelog on stdin down to the old version's entry. sp_tar ARCHIVE ARGS:
     * tar over an archive's files, nothing once the archives' time is over. sp_deb: the archive in a
     * directory whose fields are the ones asked for (its file name is not trusted: apt writes an epoch
     * as %3a, a pool copy drops it). sp_text ARCHIVE NAME OLD: the package's changelog into $t, read
     * in one pass where it is changelog.Debian.gz; else one listing of its doc directory says whether
     * it is a native package's changelog.gz or a link to another package's ($l). sp_cl NAME OLD NEW
     * ARCH: one package's section.
     */
    private static final String SCRIPT = String.join(" ",
            "sp_t0=$(date +%s);",
            "sp_late() { [ $(( $(date +%s) - sp_t0 )) -ge @ARCHIVES_SECONDS@ ]; };",
            // a binNMU's version (+bN) has no entry of its own: its source version's entry ends the text too
            "sp_top() { b=${1%+b[0-9]*}; zcat 2>/dev/null | tr -d '\\036'"
                    + " | awk -v h=\"($1)\" -v g=\"($b)\" '{ print } /^[^ \\t]/ && (index($0, h) || index($0, g)) { exit }'"
                    + " | head -c @CHANGELOG_BYTES@; };",
            "sp_tar() { f=$1; shift; sp_late || timeout @READ_SECONDS@ dpkg-deb --fsys-tarfile \"$f\" 2>/dev/null | tar \"$@\" 2>/dev/null; };",
            "sp_deb() { for f in \"$1/$2\"_*.deb; do [ -f \"$f\" ]"
                    + " && [ \"$(dpkg-deb -W --showformat=\"$4\" \"$f\" 2>/dev/null)\" = \"$3\" ] && { echo \"$f\"; return 0; }; done; return 1; };",
            "sp_text() { l=; p=./usr/share/doc/$2;",
            " t=$(sp_tar \"$1\" -xOf - --occurrence=1 \"$p/changelog.Debian.gz\" | sp_top \"$3\"); [ -n \"$t\" ] && return 0;",
            " r=$(sp_tar \"$1\" -tvf - \"$p\" | awk -v p=\"$p\" '$1 ~ /^l/ && $(NF-2) == p && $(NF-1) == \"->\" { print \"link \" $NF; exit }"
                    + " $NF == p \"/changelog.gz\" { print \"native\"; exit }');",
            " case $r in native) t=$(sp_tar \"$1\" -xOf - --occurrence=1 \"$p/changelog.gz\" | sp_top \"$3\"); [ -n \"$t\" ] && return 0 ;;",
            "  'link '*) l=${r#link } ;; esac; return 1; };",
            "sp_dir() { if [ \"$1\" = bundle ]; then echo '@BUNDLE@'; else echo '@APT@'; fi; };",
            "sp_cl() { printf '\\036 %s\\n' \"$1\";",
            " d='@DOC@'/$1; f=$d/changelog.Debian.gz; [ -f \"$f\" ] || f=$d/changelog.gz;",
            " if [ -f \"$f\" ]; then printf '\\036@installed\\n'; sp_top \"$2\" < \"$f\"; printf '\\n'; return; fi;",
            " for w in bundle apt; do",
            "  a=$(sp_deb \"$(sp_dir $w)\" \"$1\" \"$1 $3 $4\" '${Package} ${Version} ${Architecture}') || continue;",
            "  if sp_text \"$a\" \"$1\" \"$2\"; then printf '\\036@%s\\n%s\\n' $w \"$t\"; return; fi;",
            "  k=$l; case $k in ''|[!a-z0-9]*|*[!a-z0-9+.-]*) k= ;; esac;",
            // a binNMU (+bN) links to an arch:all package of the version without it
            "  if [ -n \"$k\" ]; then case $3 in *+b[0-9]|*+b[0-9][0-9]) v=${3%+b*} ;; *) v= ;; esac;",
            "   for w2 in bundle apt; do",
            "    la=$(sp_deb \"$(sp_dir $w2)\" \"$k\" \"$k $3\" '${Package} ${Version}')"
                    + " || { [ -n \"$v\" ] && la=$(sp_deb \"$(sp_dir $w2)\" \"$k\" \"$k $v\" '${Package} ${Version}'); } || continue;",
            "    if sp_text \"$la\" \"$k\" \"$2\"; then printf '\\036@%s %s\\n%s\\n' $w2 \"$k\" \"$t\"; return; fi;",
            "   done;",
            "   if sp_late; then printf '\\036!late\\n'; else printf '\\036!link %s %s\\n' $w \"$k\"; fi; return;",
            "  fi;",
            "  if sp_late; then printf '\\036!late\\n'; else printf '\\036!empty %s\\n' $w; fi; return;",
            " done;",
            " printf '\\036!none\\n'; };");

    /** Why an upgrade has no changelog text; {@link Result#describe} says it in words. */
    enum Absence {
        NO_ARCHIVE("none"), NOTHING_IN_ARCHIVE("empty"), LINK_UNRESOLVED("link"), OUT_OF_TIME("late"),
        OUTPUT_CUT(null), NO_ANSWER(null);

        /** The guest's word, null for what only this side can know. */
        private final String guestWord;

        Absence(String guestWord) { this.guestWord = guestWord; }

        static Absence ofGuestWord(String w) {
            for (Absence a : values()) if (w.equals(a.guestWord)) return a;
            return null;
        }
    }

    /**
     * One package's changelog as the guest found it.
     *
     * @param source   where the text was read, {@link ChangelogSource#NONE} when none was
     * @param text     the text when one was read, else null
     * @param absence  why none was read, else null
     * @param archive  where its own archive was found when it held no changelog, else null
     * @param linkedTo the package its archive links its doc directory to, when that mattered, else null
     */
    record Result(ChangelogSource source, String text, Absence absence, ChangelogSource archive, String linkedTo) {
        static Result unread(Absence why) {
            return new Result(ChangelogSource.NONE, null, why, null, null);
        }

        Result withText(String t) {
            return new Result(source, t, absence, archive, linkedTo);
        }

        /** Where the text came from or why there is none, for the package's row. */
        String describe(PackageChange c, ChangelogPlaces places) {
            if (source.read()) {
                return "read from the " + source.word() + (linkedTo == null ? ""
                        : " of " + linkedTo + " (" + c.name() + "'s doc directory links to " + linkedTo + "'s)");
            }
            String installed = "none installed in " + places.docRoot() + "/" + c.name();
            String archives = places.bundleDir() + " or " + places.aptArchives();
            return switch (absence) {
                case NO_ARCHIVE -> "no changelog readable: " + installed + ", no archive of " + c.name() + " " + c.newVersion()
                        + " (" + c.newArchitecture() + ") in " + archives;
                case NOTHING_IN_ARCHIVE -> "no changelog readable: " + installed + ", none in its archive in " + places.archives(archive);
                case LINK_UNRESOLVED -> "no changelog readable: " + installed + "; its archive in " + places.archives(archive)
                        + " links its doc directory to " + linkedTo + ", and no archive of " + linkedTo + " " + c.newVersion()
                        + " with a changelog is in " + archives;
                case OUT_OF_TIME -> "no changelog readable: " + installed + ", and the " + ARCHIVES_SECONDS
                        + " s for reading package archives ran out before its";
                case OUTPUT_CUT -> "no changelog read: the output of all changelogs was cut before it";
                case NO_ANSWER -> "no changelog read: the shadow did not answer";
            };
        }
    }

    /** The output of {@link #command}: each package's result; a package the output was cut before is missing. */
    static Map<String, Result> parse(String output) {
        Map<String, Result> results = new LinkedHashMap<>();
        String name = null;
        Result head = null;
        List<String> lines = new ArrayList<>();
        for (String line : output.split("\n", -1)) {
            if (line.startsWith(SECTION)) {
                if (name != null && head != null) results.put(name, head.withText(String.join("\n", lines)));
                name = line.substring(SECTION.length());
                head = null;
                lines.clear();
            } else if (name == null) {
                continue;
            } else if (head != null) {
                lines.add(line);
            } else if ((head = marker(line)) == null || !head.source().read()) {
                if (head != null) results.put(name, head);
                name = null; // a section without its marker line was cut (or is not ours): left out
            }
        }
        if (name != null && head != null) results.put(name, head.withText(String.join("\n", lines)));
        return results;
    }

    /** The section's second line, null when it is none of ours. */
    private static Result marker(String line) {
        boolean read = line.startsWith(READ);
        if (!read && !line.startsWith(UNREAD)) return null;
        String[] w = line.substring(READ.length()).split(" ", -1);
        if (read) {
            ChangelogSource where = source(w[0]);
            if (where == null || w.length > 2 || w.length == 2 && !InstalledPackage.isName(w[1])) return null;
            return new Result(where, "", null, null, w.length == 2 ? w[1] : null);
        }
        Absence why = Absence.ofGuestWord(w[0]);
        ChangelogSource archive = w.length > 1 ? source(w[1]) : null;
        String linked = w.length > 2 && InstalledPackage.isName(w[2]) ? w[2] : null;
        boolean complete = switch (why == null ? Absence.OUTPUT_CUT : why) {
            case NO_ARCHIVE, OUT_OF_TIME -> w.length == 1;
            case NOTHING_IN_ARCHIVE -> w.length == 2 && archive != null && archive != ChangelogSource.INSTALLED;
            case LINK_UNRESOLVED -> w.length == 3 && archive != null && archive != ChangelogSource.INSTALLED && linked != null;
            default -> false;
        };
        return complete ? new Result(ChangelogSource.NONE, null, why, archive, linked) : null;
    }

    private static ChangelogSource source(String guestWord) {
        return switch (guestWord) {
            case "installed" -> ChangelogSource.INSTALLED;
            case "bundle" -> ChangelogSource.PATCH_BUNDLE;
            case "apt" -> ChangelogSource.APT_CACHE;
            default -> null;
        };
    }
}
