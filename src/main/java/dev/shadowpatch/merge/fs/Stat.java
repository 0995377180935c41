package dev.shadowpatch.merge.fs;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** What lstat (statx without following links) says about one directory entry. */
public record Stat(FileType type, int mode, int uid, int gid, long size, long blocks,
                   long mtimeSec, int mtimeNsec, long ctimeSec, int ctimeNsec, long atimeSec, int atimeNsec,
                   long ino, int nlink, int devMajor, int devMinor, int rdevMajor, int rdevMinor) {

    static Stat fromStatx(byte[] buf) {
        ByteBuffer b = ByteBuffer.wrap(buf).order(ByteOrder.nativeOrder());
        int nlink = b.getInt(16), uid = b.getInt(20), gid = b.getInt(24);
        int rawMode = b.getShort(28) & 0xffff;
        long ino = b.getLong(32), size = b.getLong(40), blocks = b.getLong(48);
        long atS = b.getLong(64); int atN = b.getInt(72);
        long ctS = b.getLong(96); int ctN = b.getInt(104);
        long mtS = b.getLong(112); int mtN = b.getInt(120);
        int rdMa = b.getInt(128), rdMi = b.getInt(132), dMa = b.getInt(136), dMi = b.getInt(140);
        return new Stat(FileType.ofMode(rawMode), rawMode & 07777, uid, gid, size, blocks, mtS, mtN, ctS, ctN,
                atS, atN, ino, nlink, dMa, dMi, rdMa, rdMi);
    }

    public long dev() {
        return ((long) devMajor << 32) | (devMinor & 0xffffffffL);
    }

    /** Untouched overlay entries keep the base's inode, size, mtime and ctime exactly. */
    public boolean sameIdentity(Stat o) {
        return o != null && ino == o.ino && size == o.size && mtimeSec == o.mtimeSec && mtimeNsec == o.mtimeNsec
                && ctimeSec == o.ctimeSec && ctimeNsec == o.ctimeNsec && type == o.type && mode == o.mode
                && uid == o.uid && gid == o.gid && nlink == o.nlink;
    }
}
