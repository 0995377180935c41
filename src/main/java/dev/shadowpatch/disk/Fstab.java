package dev.shadowpatch.disk;

import java.util.ArrayList;
import java.util.List;

/**
 * A guest's {@code /etc/fstab}, parsed as fstab(5) says: six whitespace-separated fields, {@code #}
 * comments, octal escapes ({@code \040} for a space) in the first two. A line that is not an entry
 * is refused with its number: a layout is never guessed from a half-read file.
 */
public record Fstab(List<Entry> entries) {

    /** One mount: what (spec), where (mount point), which type, with which options. */
    public record Entry(int line, String spec, String mountPoint, String type, List<String> options) {
        public boolean hasOption(String name) {
            return options.stream().anyMatch(o -> o.equals(name) || o.startsWith(name + "="));
        }

        public String option(String name) {
            return options.stream().filter(o -> o.startsWith(name + "=")).map(o -> o.substring(name.length() + 1))
                    .findFirst().orElse(null);
        }
    }

    /** At most this many entries: a guest file is input, never trusted to be small. */
    static final int MAX_ENTRIES = 1000;

    public static Fstab parse(String text) {
        List<Entry> entries = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("\\s+");
            if (f.length < 3 || f.length > 6) {
                throw new IllegalArgumentException("/etc/fstab line " + (i + 1) + " has " + f.length
                        + " fields (an entry has 3 to 6: spec, mount point, type, options, dump, pass): " + abbreviate(line));
            }
            String options = f.length > 3 ? f[3] : "defaults";
            entries.add(new Entry(i + 1, unescape(f[0]), unescape(f[1]), f[2], List.of(options.split(","))));
            if (entries.size() > MAX_ENTRIES) {
                throw new IllegalArgumentException("/etc/fstab has more than " + MAX_ENTRIES + " entries");
            }
        }
        return new Fstab(List.copyOf(entries));
    }

    /** fstab(5): spaces and tabs in the first two fields are written as \040 and \011 (any byte as \NNN; UTF-8 decoded). */
    static String unescape(String s) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                out.write(Integer.parseInt(s.substring(i + 1, i + 4), 8) & 0xff);
                i += 3;
            } else {
                byte[] b = String.valueOf(c).getBytes(java.nio.charset.StandardCharsets.UTF_8);
                out.write(b, 0, b.length);
            }
        }
        return out.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    private static String abbreviate(String s) {
        return s.length() > 120 ? s.substring(0, 120) + "..." : s;
    }
}
