package dev.shadowpatch.merge;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.io.ByteArrayOutputStream;

/**
 * Lossless text form of a path relative to a tree root. File names are raw bytes; a component that
 * is valid UTF-8 without '%' or control characters is kept as is, any other component is written
 * byte by byte with every byte outside printable ASCII (and '%') as %XX. Decoding maps %XX to the
 * byte and any other character to its UTF-8 bytes, so decode(encode(b)) == b for every byte string.
 * The root is "", components are joined with '/'.
 */
public final class RelPath {
    private RelPath() {}

    public static String encodeComponent(byte[] name) {
        if (name.length == 0) throw new IllegalArgumentException("empty file name");
        return encode(name, false);
    }

    /** Same escaping for a byte string that may contain '/' (a symlink target). */
    public static String encodeBytes(byte[] b) {
        return encode(b, true);
    }

    public static byte[] decodeBytes(String s) {
        return decode(s);
    }

    private static String encode(byte[] name, boolean slashOk) {
        boolean ascii = true;
        for (byte b : name) {
            int u = b & 0xff;
            if (u < 0x20 || u >= 0x7f || u == '%' || (u == '/' && !slashOk)) { ascii = false; break; }
        }
        if (ascii) return new String(name, StandardCharsets.ISO_8859_1);
        boolean plain = true;
        for (byte b : name) {
            int u = b & 0xff;
            if (u < 0x20 || u == 0x7f || u == '%' || (u == '/' && !slashOk)) { plain = false; break; }
        }
        if (plain) {
            try {
                return StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(name)).toString();
            } catch (CharacterCodingException e) {
                // fall through to byte escaping
            }
        }
        StringBuilder sb = new StringBuilder(name.length * 3);
        for (byte b : name) {
            int u = b & 0xff;
            if (u > 0x20 && u < 0x7f && u != '%' && (u != '/' || slashOk)) sb.append((char) u);
            else sb.append('%').append(Character.toUpperCase(Character.forDigit(u >> 4, 16)))
                    .append(Character.toUpperCase(Character.forDigit(u & 15, 16)));
        }
        return sb.toString();
    }

    public static byte[] decodeComponent(String s) {
        byte[] r = decode(s);
        if (r.length == 0) throw new IllegalArgumentException("empty component");
        for (byte b : r) if (b == 0 || b == '/') throw new IllegalArgumentException("NUL or '/' in component: " + s);
        return r;
    }

    private static byte[] decode(String s) {
        boolean ascii = true;
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch == '%' || ch >= 0x80) { ascii = false; break; }
        }
        if (ascii) return s.getBytes(StandardCharsets.ISO_8859_1);
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        int i = 0;
        while (i < s.length()) {
            char ch = s.charAt(i);
            if (ch == '%') {
                if (i + 2 >= s.length()) throw new IllegalArgumentException("bad escape in " + s);
                int hi = Character.digit(s.charAt(i + 1), 16), lo = Character.digit(s.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) throw new IllegalArgumentException("bad escape in " + s);
                out.write(hi * 16 + lo);
                i += 3;
            } else {
                int cp = s.codePointAt(i);
                byte[] b = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8);
                out.write(b, 0, b.length);
                i += Character.charCount(cp);
            }
        }
        return out.toByteArray();
    }

    /** Components of a relative path; validates that no component is "", "." or "..". */
    public static List<String> split(String rel) {
        List<String> out = new ArrayList<>();
        if (rel.isEmpty()) return out;
        for (String c : rel.split("/", -1)) {
            if (c.isEmpty() || c.equals(".") || c.equals("..")) throw new IllegalArgumentException("bad relative path: " + rel);
            out.add(c);
        }
        return out;
    }

    /**
     * A relative path read from outside (a plan file): every component, once decoded, must be a
     * plain name (not empty, not "." or "..", no '/' or NUL byte, however it was escaped).
     */
    public static String requireSafe(String rel) {
        if (rel == null || rel.isEmpty()) throw new IllegalArgumentException("empty path in plan");
        for (String c : split(rel)) {
            byte[] b;
            try {
                b = decodeComponent(c);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("bad path component in plan: /" + rel, e);
            }
            boolean dots = (b.length == 1 && b[0] == '.') || (b.length == 2 && b[0] == '.' && b[1] == '.');
            if (b.length == 0 || dots) throw new IllegalArgumentException("'.' or '..' component in plan path: /" + rel);
            for (byte x : b) if (x == '/' || x == 0) throw new IllegalArgumentException("'/' or NUL inside a name in plan path: /" + rel);
        }
        return rel;
    }

    public static String join(String parent, String component) {
        return parent.isEmpty() ? component : parent + "/" + component;
    }

    public static String parent(String rel) {
        int i = rel.lastIndexOf('/');
        return i < 0 ? "" : rel.substring(0, i);
    }

    public static String name(String rel) {
        return rel.substring(rel.lastIndexOf('/') + 1);
    }

    public static int depth(String rel) {
        if (rel.isEmpty()) return 0;
        int d = 1;
        for (int i = 0; i < rel.length(); i++) if (rel.charAt(i) == '/') d++;
        return d;
    }

    /** "/"-rooted form used by policy globs (e.g. "/etc/passwd"). */
    public static String absolute(String rel) {
        return "/" + rel;
    }

    public static boolean isUnder(String rel, String ancestor) {
        return ancestor.isEmpty() || rel.equals(ancestor) || rel.startsWith(ancestor + "/");
    }
}
