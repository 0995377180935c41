package dev.shadowpatch.restart;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The code the guest runs: for each systemd unit (a service, {@code init.scope} for PID 1, a session
 * scope, or "-" for a process outside any), the executables and files its processes map, with each
 * file's identity. Taken in the shadow before the patch: it is what the live VM runs, since the
 * shadow booted from the live VM's disks.
 *
 * <p>Text form (the guest prints it, the run keeps it as a file variable), tab-separated:
 * {@code U unit path} (a process of the unit maps path; a path ending in " (deleted)" was already
 * replaced before the snapshot) and {@code F path dev inode mtime size}.
 */
public record RunningCode(Map<String, Set<String>> pathsByUnit, Map<String, FileState> files, int malformedLines) {
    static final String DELETED = " (deleted)";
    public static final String PID1_UNIT = "init.scope";

    /**
     * Every process with an executable (kernel threads have none): its unit from its cgroup (v2), its
     * executable and its executable file mappings (code: a library's r-xp segment); then one stat of
     * every distinct file. One pass, one SSH command. Data mappings are not code and are left out: on
     * a real guest PostgreSQL's shared memory is "/dev/zero (deleted)", journald maps rotated journal
     * files that are deleted, and a memfd is never a file on disk (RestartNeedVmTest saw all three).
     */
    public static final String CAPTURE = """
            t=$(printf '\\t'); list=$(mktemp)
            for d in /proc/[0-9]*; do
              exe=$(readlink "$d/exe" 2>/dev/null) || continue
              unit=$(awk -F/ '/^0::/ {print $NF}' "$d/cgroup" 2>/dev/null)
              case "$unit" in *.service|*.scope) ;; *) unit=- ;; esac
              { printf '%s\\n' "$exe"; awk '$2 ~ /x/ && $6 ~ /^\\// && $6 !~ /^\\/memfd:/ { sub(/^[^\\/]*/, ""); print }' "$d/maps" 2>/dev/null; } | sed "s#^#U$t$unit$t#"
            done | sort -u > "$list"
            cat "$list"
            cut -f3- "$list" | grep -v ' (deleted)$' | sort -u | tr '\\n' '\\0' \\
              | xargs -0 -r stat --printf 'F\\t%n\\t%d\\t%i\\t%Y\\t%s\\n' 2>/dev/null
            rm -f "$list"; exit 0
            """;

    /** The same stat of the given paths, fed on stdin of the command {@link #restatCommand} builds. */
    public static String restatCommand(String pathListFile) {
        return "tr '\\n' '\\0' < " + pathListFile + " | xargs -0 -r stat --printf 'F\\t%n\\t%d\\t%i\\t%Y\\t%s\\n' 2>/dev/null; rm -f "
                + pathListFile + "; exit 0";
    }

    public static RunningCode parse(String text) {
        Map<String, Set<String>> byUnit = new TreeMap<>();
        Map<String, FileState> files = new LinkedHashMap<>();
        int malformed = 0;
        for (String line : text.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split("\t", -1);
            if (f[0].equals("U") && f.length == 3 && !f[2].isEmpty()) {
                byUnit.computeIfAbsent(f[1], u -> new TreeSet<>()).add(f[2]);
            } else if (f[0].equals("F") && f.length == 6) {
                try {
                    files.put(f[1], new FileState(Long.parseLong(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]), Long.parseLong(f[5])));
                } catch (NumberFormatException e) {
                    malformed++;
                }
            } else {
                malformed++;
            }
        }
        return new RunningCode(byUnit, files, malformed);
    }

    /** Only the F lines of a re-stat: path to state now; a path missing is gone. */
    public static Map<String, FileState> parseStates(String text) {
        return parse(text).files();
    }

    public String toText() {
        StringBuilder out = new StringBuilder();
        pathsByUnit.forEach((unit, paths) -> paths.forEach(p -> out.append("U\t").append(unit).append('\t').append(p).append('\n')));
        files.forEach((p, s) -> out.append("F\t").append(p).append('\t').append(s.dev()).append('\t').append(s.inode())
                .append('\t').append(s.mtime()).append('\t').append(s.size()).append('\n'));
        return out.toString();
    }

    /** The distinct mapped paths that still existed when captured (to stat again after the patch). */
    public Collection<String> livePaths() {
        return new ArrayList<>(files.keySet());
    }

    public int processUnits() {
        return pathsByUnit.size();
    }

    static boolean deletedBefore(String path) {
        return path.endsWith(DELETED);
    }

    static List<String> sorted(Collection<String> c) {
        return new ArrayList<>(new TreeSet<>(c));
    }
}
