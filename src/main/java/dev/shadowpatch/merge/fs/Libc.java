package dev.shadowpatch.merge.fs;

import com.sun.jna.Native;
import com.sun.jna.Pointer;

import java.nio.ByteBuffer;

/**
 * Direct JNA mapping of the few Linux/glibc calls the merge needs. Every path argument is a
 * NUL-terminated byte array (file names are raw bytes, never decoded); every lookup is relative to
 * a directory file descriptor (openat-style) so that no path is ever resolved through a symlink.
 * Layouts used (statx, dirent64, timespec) are the same on all 64-bit Linux architectures.
 */
public final class Libc {
    static {
        Native.register("c");
    }

    private Libc() {}

    public static final int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0100, O_EXCL = 0200,
            O_NOCTTY = 0400, O_TRUNC = 01000, O_NONBLOCK = 04000, O_DIRECTORY = 0200000,
            O_NOFOLLOW = 0400000, O_CLOEXEC = 02000000, O_PATH = 010000000;
    public static final int AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_EMPTY_PATH = 0x1000;
    public static final int SEEK_SET = 0, SEEK_DATA = 3, SEEK_HOLE = 4;
    public static final int STATX_BASIC_STATS = 0x7ff;
    public static final int ENOENT = 2, EINTR = 4, EEXIST = 17, EXDEV = 18, ENOTDIR = 20, EISDIR = 21,
            EINVAL = 22, ENOSPC = 28, ENOTEMPTY = 39, ELOOP = 40, ENODATA = 61, EOPNOTSUPP = 95,
            ENOSYS = 38, ERANGE = 34;
    public static final int XATTR_CREATE = 1;

    public static native int open(byte[] path, int flags, int mode);
    public static native int openat(int dirfd, byte[] path, int flags, int mode);
    public static native int close(int fd);
    public static native int statx(int dirfd, byte[] path, int flags, int mask, byte[] buf);
    public static native long readlinkat(int dirfd, byte[] path, byte[] buf, long size);
    public static native Pointer fdopendir(int fd);
    public static native Pointer readdir64(Pointer dir);
    public static native int closedir(Pointer dir);
    public static native long llistxattr(byte[] path, byte[] list, long size);
    public static native long lgetxattr(byte[] path, byte[] name, byte[] value, long size);
    public static native int lsetxattr(byte[] path, byte[] name, byte[] value, long size, int flags);
    public static native int lremovexattr(byte[] path, byte[] name);
    public static native int mknodat(int dirfd, byte[] path, int mode, long dev);
    public static native int mkdirat(int dirfd, byte[] path, int mode);
    public static native int symlinkat(byte[] target, int newdirfd, byte[] linkpath);
    public static native int linkat(int olddirfd, byte[] oldpath, int newdirfd, byte[] newpath, int flags);
    public static native int unlinkat(int dirfd, byte[] path, int flags);
    public static native int renameat(int olddirfd, byte[] oldpath, int newdirfd, byte[] newpath);
    public static native int fchownat(int dirfd, byte[] path, int uid, int gid, int flags);
    public static native int fchmod(int fd, int mode);
    public static native int chmod(byte[] path, int mode);
    public static native int utimensat(int dirfd, byte[] path, long[] times, int flags);
    public static native long lseek(int fd, long offset, int whence);
    public static native long pread(int fd, ByteBuffer buf, long count, long offset);
    public static native long pwrite(int fd, ByteBuffer buf, long count, long offset);
    public static native int ftruncate(int fd, long length);
    public static native int fsync(int fd);
    public static native int umask(int mask);
    public static native int fsetxattr(int fd, byte[] name, byte[] value, long size, int flags);
    public static native int fremovexattr(int fd, byte[] name);
    public static native int setxattr(byte[] path, byte[] name, byte[] value, long size, int flags);
    public static native int futimens(int fd, long[] times);
    public static native int syncfs(int fd);
    public static native int fchown(int fd, int uid, int gid);
    public static final int ENXIO = 6;

    public static int errno() {
        return Native.getLastError();
    }

    /** NUL-terminated copy of a byte name. */
    public static byte[] c(byte[] name) {
        byte[] out = new byte[name.length + 1];
        System.arraycopy(name, 0, out, 0, name.length);
        return out;
    }

    public static long makedev(long major, long minor) {
        return ((major & 0xfffff000L) << 32) | ((major & 0xfffL) << 8)
                | ((minor & 0xffffff00L) << 12) | (minor & 0xffL);
    }
}
