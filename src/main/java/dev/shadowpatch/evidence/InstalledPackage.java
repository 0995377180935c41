package dev.shadowpatch.evidence;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * One package of a guest's dpkg database, as {@link #DPKG_QUERY} prints it: name, version,
 * architecture and dpkg's three-letter status ({@code db:Status-Abbrev}: wanted, state, error flag).
 * The guest is not trusted: a line whose name, version, architecture or status is malformed is not
 * a package, so nothing a guest prints reaches a shell or a form unchecked.
 */
public record InstalledPackage(String name, String version, String architecture, String status) {
    /** The guest command; one line per package, tab-separated, about 40 bytes a line. */
    public static final String DPKG_QUERY =
            "dpkg-query -W -f='${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Abbrev}\\n'";
    /** Debian policy 5.6.1; longer than any real name is refused too, so a row stays a row. */
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9+.-]{1,99}");
    private static final Pattern ARCHITECTURE = Pattern.compile("[a-z0-9][a-z0-9-]{0,31}");
    private static final Pattern STATUS = Pattern.compile("[uihrp][ncHUFWti][ R]?");

    public InstalledPackage {
        if (!NAME.matcher(name).matches()) throw new IllegalArgumentException("package name '" + name + "' is malformed");
        if (DebianVersion.parseOrNull(version) == null || version.length() > 200) {
            throw new IllegalArgumentException("version '" + version + "' of " + name + " is malformed");
        }
        if (!ARCHITECTURE.matcher(architecture).matches()) {
            throw new IllegalArgumentException("architecture '" + architecture + "' of " + name + " is malformed");
        }
        if (!STATUS.matcher(status).matches()) throw new IllegalArgumentException("status '" + status + "' of " + name + " is malformed");
        status = status.length() == 2 ? status + " " : status; // a stripped line loses the blank error flag
    }

    /** Whether {@code text} is a well-formed package name (safe in a shell's single quotes and in a row). */
    static boolean isName(String text) {
        return NAME.matcher(text).matches();
    }

    /** Whether the package's files are on the system: not removed, not only its configuration files left. */
    public boolean present() {
        char state = status.charAt(1);
        return state != 'n' && state != 'c';
    }

    /** Installed and configured without error (triggers awaited or pending count: its files are in place). */
    public boolean fullyInstalled() {
        char state = status.charAt(1);
        return (state == 'i' || state == 'W' || state == 't') && status.charAt(2) == ' ';
    }

    /** What dpkg's state letter means, for a package that is not {@link #fullyInstalled}. */
    public String stateWords() {
        String state = switch (status.charAt(1)) {
            case 'n' -> "not installed";
            case 'c' -> "removed, its configuration files left";
            case 'H' -> "half-installed";
            case 'U' -> "unpacked, not configured";
            case 'F' -> "half-configured";
            case 'W' -> "awaiting triggers";
            case 't' -> "triggers pending";
            default -> "installed";
        };
        return status.charAt(2) == 'R' ? state + ", reinstallation required" : state;
    }

    DebianVersion parsedVersion() {
        return DebianVersion.parse(version);
    }

    /** Key of the package within one database: a Multi-Arch package may be installed once per architecture. */
    String key() {
        return name + ":" + architecture;
    }

    String toLine() {
        return name + "\t" + version + "\t" + architecture + "\t" + status;
    }

    /** A database as read: its packages and how many lines were not a package (a guest may print anything). */
    public record Listing(List<InstalledPackage> packages, int malformedLines) {
        public Listing {
            packages = List.copyOf(packages);
        }

        /** The lines {@link #DPKG_QUERY} prints (also what {@link #toText} stores). */
        public static Listing parse(String output) {
            List<InstalledPackage> packages = new ArrayList<>();
            int malformed = 0;
            for (String line : output.split("\n")) {
                if (line.isBlank()) continue;
                String[] f = line.split("\t", -1);
                try {
                    if (f.length != 4) throw new IllegalArgumentException("not four fields");
                    packages.add(new InstalledPackage(f[0], f[1], f[2], f[3]));
                } catch (IllegalArgumentException e) {
                    malformed++;
                }
            }
            return new Listing(packages, malformed);
        }

        public String toText() {
            StringBuilder text = new StringBuilder();
            packages.forEach(p -> text.append(p.toLine()).append('\n'));
            return text.toString();
        }
    }
}
