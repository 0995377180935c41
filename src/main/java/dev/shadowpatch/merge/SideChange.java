package dev.shadowpatch.merge;

import com.fasterxml.jackson.annotation.JsonValue;
import dev.shadowpatch.merge.fs.FileType;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * What one side (the live VM or the shadow) did to a path relative to the base, for an operator:
 * the kinds of change and the values that changed.
 */
public record SideChange(List<Kind> kinds, String detail) {
    public SideChange {
        kinds = List.copyOf(kinds);
    }

    /** Identity is the constant; the word is what the form shows. */
    public enum Kind {
        CREATED("created"),
        DELETED("deleted"),
        TYPE_CHANGED("type change"),
        CONTENT_CHANGED("changed content"),
        /** sizes equal and no hashes: the detect stage did not need to compare the contents */
        CONTENT_NOT_COMPARED("content not compared"),
        MODE_CHANGED("changed mode"),
        OWNER_CHANGED("changed owner"),
        XATTRS_CHANGED("changed xattrs"),
        UNCHANGED("unchanged");

        private final String word;

        Kind(String word) { this.word = word; }

        @JsonValue
        public String word() { return word; }

        @Override
        public String toString() { return word; }
    }

    /**
     * @param contentSame whether the two versions' contents are equal where the entries alone cannot say
     *                    (same size, hashes not known); null: not known
     */
    public static SideChange between(Entry base, Entry side, Boolean contentSame) {
        if (base == null && side == null) return new SideChange(List.of(Kind.UNCHANGED), "absent");
        if (base == null) return new SideChange(List.of(Kind.CREATED), "created: " + summary(side));
        if (side == null) return new SideChange(List.of(Kind.DELETED), "deleted (was " + summary(base) + ")");
        if (base.type() != side.type())
            return new SideChange(List.of(Kind.TYPE_CHANGED), "type change: " + summary(base) + " -> " + summary(side));
        List<Kind> kinds = new ArrayList<>();
        List<String> details = new ArrayList<>();
        content(base, side, contentSame, kinds, details);
        if (base.mode() != side.mode()) {
            kinds.add(Kind.MODE_CHANGED);
            details.add(String.format("mode %04o -> %04o", base.mode(), side.mode()));
        }
        if (base.uid() != side.uid() || base.gid() != side.gid()) {
            kinds.add(Kind.OWNER_CHANGED);
            details.add("owner " + base.uid() + ":" + base.gid() + " -> " + side.uid() + ":" + side.gid());
        }
        Set<String> xattrs = changedXattrs(base, side);
        if (!xattrs.isEmpty()) {
            kinds.add(Kind.XATTRS_CHANGED);
            details.add("xattrs " + String.join(", ", xattrs));
        }
        if (kinds.isEmpty()) return new SideChange(List.of(Kind.UNCHANGED), summary(side));
        return new SideChange(kinds, String.join("; ", details));
    }

    private static void content(Entry base, Entry side, Boolean contentSame, List<Kind> kinds, List<String> details) {
        switch (base.type()) {
            case FILE -> {
                boolean changed = base.size() != side.size()
                        || (base.sha256() != null && side.sha256() != null ? !base.sha256().equals(side.sha256())
                        : contentSame != null && !contentSame);
                boolean unknown = !changed && (base.sha256() == null || side.sha256() == null) && contentSame == null;
                if (changed) {
                    kinds.add(Kind.CONTENT_CHANGED);
                    details.add("content " + base.size() + " -> " + side.size() + " bytes");
                } else if (unknown) {
                    kinds.add(Kind.CONTENT_NOT_COMPARED);
                    details.add("content " + side.size() + " bytes, not compared");
                }
            }
            case SYMLINK -> {
                if (!Objects.equals(base.target(), side.target())) {
                    kinds.add(Kind.CONTENT_CHANGED);
                    details.add("target " + base.target() + " -> " + side.target());
                }
            }
            case CHAR, BLOCK -> {
                if (!Objects.equals(base.rdevMajor(), side.rdevMajor()) || !Objects.equals(base.rdevMinor(), side.rdevMinor())) {
                    kinds.add(Kind.CONTENT_CHANGED);
                    details.add("device " + base.rdevMajor() + "," + base.rdevMinor() + " -> " + side.rdevMajor() + "," + side.rdevMinor());
                }
            }
            default -> { } // a directory's entries are paths of their own; FIFOs and sockets have no content
        }
    }

    private static Set<String> changedXattrs(Entry base, Entry side) {
        Set<String> names = new TreeSet<>(base.xattrs().keySet());
        names.addAll(side.xattrs().keySet());
        names.removeIf(n -> Objects.equals(base.xattrs().get(n), side.xattrs().get(n)));
        return names;
    }

    /** One version in a few words: type, size or target, mode, owner. */
    static String summary(Entry e) {
        String what = switch (e.type()) {
            case FILE -> "file of " + e.size() + " bytes";
            case SYMLINK -> "symlink -> " + e.target();
            case DIR -> "directory";
            case CHAR, BLOCK -> e.type().name().toLowerCase() + " device " + e.rdevMajor() + "," + e.rdevMinor();
            default -> e.type().name().toLowerCase();
        };
        return what + (e.type() == FileType.SYMLINK ? "" : String.format(", mode %04o, owner %d:%d", e.mode(), e.uid(), e.gid()));
    }
}
