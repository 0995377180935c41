package dev.shadowpatch.merge;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.shadowpatch.merge.fs.FileType;
import dev.shadowpatch.merge.fs.Stat;

import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.time.Instant;

/**
 * One version of a path in one tree (base, live or shadow), as lstat and the xattr calls saw it.
 * target: symlink target (RelPath-style escaped bytes); xattrs: escaped name -> base64 value;
 * sha256: content hash of a regular file when it was needed to decide, else null.
 * rdev is meaningful for CHAR/BLOCK only.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Entry(FileType type, int mode, int uid, int gid, long size, String target,
                    Integer rdevMajor, Integer rdevMinor, Map<String, String> xattrs, String sha256,
                    long ino, int nlink, long mtimeSec, int mtimeNsec) {

    public Entry {
        xattrs = xattrs == null ? Map.of() : new TreeMap<>(xattrs);
    }

    public static Entry of(Stat st, String target, Map<String, String> xattrs, String sha256) {
        boolean dev = st.type() == FileType.CHAR || st.type() == FileType.BLOCK;
        return new Entry(st.type(), st.mode(), st.uid(), st.gid(), st.type() == FileType.DIR ? 0 : st.size(), target,
                dev ? st.rdevMajor() : null, dev ? st.rdevMinor() : null, xattrs, sha256,
                st.ino(), st.nlink(), st.mtimeSec(), st.mtimeNsec());
    }

    public Entry withSha256(String sha) {
        return new Entry(type, mode, uid, gid, size, target, rdevMajor, rdevMinor, xattrs, sha, ino, nlink, mtimeSec, mtimeNsec);
    }

    /** Equal in everything but content: type, permission bits, owner, xattrs, link target, device number. */
    public boolean sameMetadata(Entry o) {
        return o != null && type == o.type && mode == o.mode && uid == o.uid && gid == o.gid
                && Objects.equals(target, o.target) && Objects.equals(rdevMajor, o.rdevMajor)
                && Objects.equals(rdevMinor, o.rdevMinor) && xattrs.equals(o.xattrs);
    }

    /** Content (file bytes, link target, device number) comparison for entries whose hashes are known (used by the pure planner and its tests). */
    public boolean sameContentByHash(Entry o) {
        if (o == null || type != o.type) return false;
        if (type == FileType.SYMLINK) return Objects.equals(target, o.target);
        if (type == FileType.CHAR || type == FileType.BLOCK)
            return Objects.equals(rdevMajor, o.rdevMajor) && Objects.equals(rdevMinor, o.rdevMinor);
        if (type != FileType.FILE) return true;
        if (size != o.size) return false;
        if (sha256 == null || o.sha256 == null) throw new IllegalStateException("content hash needed to compare");
        return sha256.equals(o.sha256);
    }

    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append(type.name().toLowerCase()).append(" mode=").append(String.format("%04o", mode))
                .append(" owner=").append(uid).append(':').append(gid);
        if (type == FileType.FILE) sb.append(" size=").append(size);
        if (sha256 != null) sb.append(" sha256=").append(sha256, 0, 12);
        if (target != null) sb.append(" -> ").append(target);
        if (rdevMajor != null) sb.append(" dev=").append(rdevMajor).append(',').append(rdevMinor);
        if (!xattrs.isEmpty()) sb.append(" xattrs=").append(xattrs.keySet());
        sb.append(" mtime=").append(Instant.ofEpochSecond(mtimeSec));
        return sb.toString();
    }
}
