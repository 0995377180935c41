package dev.shadowpatch.merge;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The guest's change log (a hint, never the authority), the one parser of it. One event per line,
 * as the guest agent (ops/guest-agent/sp-change-capture: {@code inotifywait --timefmt '%s' --format
 * '%T %e %w%f'}) writes it: {@code EPOCH EVENTS /absolute/path}; also {@code EVENTS /absolute/path}
 * (inotifywait's '%e %w%f') or just {@code /absolute/path}. EVENTS is a comma-separated list
 * (CREATE, MODIFY, DELETE, MOVED_FROM, MOVED_TO, ATTRIB, CLOSE_WRITE, ISDIR, ...). Paths are raw
 * bytes up to the end of the line.
 * Lines that are not of this form (relative paths, "." or ".." components, NUL bytes, over-long
 * lines) are refused and reported; they never widen what the merge touches.
 */
public final class ChangeLog {
    public static final int MAX_LINE = 8192;
    public static final long MAX_LINES = 50_000_000L;

    /** path (encoded, relative) -> true when an event said it is/was a directory created, moved or deleted */
    public final TreeMap<String, Boolean> paths = new TreeMap<>();
    public final List<String> malformed = new ArrayList<>();

    /**
     * The part of a guest-wide log that falls on the file system mounted at {@code mountRel}
     * (encoded, relative to the guest's root; "" for the root file system), relative to it; paths on
     * the file systems mounted inside it ({@code nested}, relative to the guest's root) are left to those.
     * Malformed lines stay with the root file system's part only, so they are reported once.
     */
    public ChangeLog within(String mountRel, java.util.Collection<String> nested) {
        ChangeLog part = new ChangeLog();
        for (var e : paths.entrySet()) {
            String p = e.getKey();
            if (!under(p, mountRel) || nested.stream().anyMatch(n -> under(p, n) && !p.equals(n))) continue;
            String rel = mountRel.isEmpty() ? p : p.equals(mountRel) ? "" : p.substring(mountRel.length() + 1);
            if (!rel.isEmpty()) part.paths.put(rel, e.getValue());
        }
        if (mountRel.isEmpty()) part.malformed.addAll(malformed);
        return part;
    }

    private static boolean under(String path, String dir) {
        return dir.isEmpty() || path.equals(dir) || path.startsWith(dir + "/");
    }

    public static ChangeLog read(Path file) throws IOException {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            return read(in);
        }
    }

    public static ChangeLog read(InputStream in) throws IOException {
        ChangeLog log = new ChangeLog();
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        long lineNo = 0;
        boolean tooLong = false;
        int c;
        while (true) {
            c = in.read();
            if (c == '\n' || c < 0) {
                if (line.size() > 0 || tooLong) {
                    lineNo++;
                    if (lineNo > MAX_LINES) { log.malformed.add("more than " + MAX_LINES + " lines: rest ignored"); break; }
                    if (tooLong) log.refuse(lineNo, "line longer than " + MAX_LINE + " bytes");
                    else log.parse(lineNo, line.toByteArray());
                }
                line.reset();
                tooLong = false;
                if (c < 0) break;
                continue;
            }
            if (line.size() >= MAX_LINE) tooLong = true;
            else line.write(c);
        }
        return log;
    }

    private void refuse(long n, String why) {
        if (malformed.size() < 1000) malformed.add("line " + n + ": " + why);
        else if (malformed.size() == 1000) malformed.add("... more malformed lines not listed");
    }

    private void parse(long n, byte[] l) {
        int len = l.length;
        if (len > 0 && l[len - 1] == '\r') len--;
        int start;
        String events = "";
        int from0 = 0;
        // the agent's leading epoch seconds
        int digits = 0;
        while (digits < len && l[digits] >= '0' && l[digits] <= '9') digits++;
        if (digits > 0 && digits < len && l[digits] == ' ') from0 = digits + 1;
        if (from0 < len && l[from0] == '/') start = from0;
        else {
            int sp = -1;
            for (int i = from0; i < len; i++) if (l[i] == ' ') { sp = i; break; }
            if (sp < 0 || sp + 1 >= len || l[sp + 1] != '/') { refuse(n, "expected '[EPOCH] EVENTS /path' or '/path'"); return; }
            events = new String(l, from0, sp - from0, StandardCharsets.US_ASCII);
            if (!events.matches("[A-Z_,]+")) { refuse(n, "bad event list"); return; }
            start = sp + 1;
        }
        List<String> comps = new ArrayList<>();
        int i = start + 1, from = i;
        for (; i <= len; i++) {
            if (i == len || l[i] == '/') {
                if (i > from) {
                    byte[] comp = Arrays.copyOfRange(l, from, i);
                    if ((comp.length == 1 && comp[0] == '.') || (comp.length == 2 && comp[0] == '.' && comp[1] == '.')) {
                        refuse(n, "'.' or '..' in path"); return;
                    }
                    for (byte b : comp) if (b == 0) { refuse(n, "NUL byte in path"); return; }
                    comps.add(RelPath.encodeComponent(comp));
                }
                from = i + 1;
            }
        }
        String rel = String.join("/", comps);
        if (rel.isEmpty()) { refuse(n, "path is the root"); return; }
        boolean dirEvent = events.contains("ISDIR") && (events.contains("CREATE") || events.contains("MOVED") || events.contains("DELETE"));
        paths.merge(rel, dirEvent, Boolean::logicalOr);
    }
}
