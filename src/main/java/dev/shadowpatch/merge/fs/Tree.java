package dev.shadowpatch.merge.fs;

import com.sun.jna.Pointer;
import dev.shadowpatch.merge.RelPath;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static dev.shadowpatch.merge.fs.Libc.*;
import com.sun.jna.Native;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;

/**
 * An untrusted directory tree, accessed only through file descriptors: every path is resolved one
 * component at a time with openat(O_NOFOLLOW|O_DIRECTORY), so a symlink anywhere in a path is never
 * followed, and a directory on another file system (a mount point inside the tree) is refused.
 * Opened directory descriptors are cached (LRU); writers must call {@link #invalidate} after they
 * remove or replace a directory.
 */
public final class Tree implements AutoCloseable {
    public static final int MAX_DEPTH = 4096;
    private static final int CACHE = 512;
    private static final int DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

    private final String label;
    private final Path root;
    private final int rootFd;
    private final long rootDev;
    private final LinkedHashMap<String, Integer> dirs = new LinkedHashMap<>(CACHE * 2, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Integer> e) {
            if (size() > CACHE) { Libc.close(e.getValue()); return true; }
            return false;
        }
    };

    private Tree(String label, Path root, int rootFd, long rootDev) {
        this.label = label; this.root = root; this.rootFd = rootFd; this.rootDev = rootDev;
    }

    /** Opens the root of a tree. The root itself is given by the operator, so its path may contain links. */
    public static Tree open(Path root, String label) throws IOException {
        byte[] p = c(root.toAbsolutePath().toString().getBytes(StandardCharsets.UTF_8));
        int fd = Libc.open(p, DIR_FLAGS & ~O_NOFOLLOW, 0);
        if (fd < 0) throw new Errno("open", label + " root " + root, errno());
        Stat st = fstat(fd);
        return new Tree(label, root, fd, st.dev());
    }

    public String label() { return label; }
    public Path root() { return root; }
    public int rootFd() { return rootFd; }
    public long rootDev() { return rootDev; }

    public static Stat fstat(int fd) throws IOException {
        byte[] buf = new byte[256];
        if (statx(fd, new byte[]{0}, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, buf) != 0)
            throw new Errno("statx", "fd " + fd, errno());
        return Stat.fromStatx(buf);
    }

    /** lstat of name inside dirfd, or null when it does not exist. */
    public Stat lstatAt(int dirfd, byte[] name) throws IOException {
        byte[] buf = new byte[256];
        if (statx(dirfd, c(name), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, buf) != 0) {
            int e = errno();
            if (e == ENOENT || e == ENOTDIR) return null;
            throw new Errno("statx", label + ":" + RelPath.encodeComponent(name), e);
        }
        return Stat.fromStatx(buf);
    }

    /** Opens a child directory of dirfd without following links; refuses other file systems. */
    public int openDirAt(int dirfd, byte[] name, String relForErrors) throws IOException {
        int fd = openat(dirfd, c(name), DIR_FLAGS, 0);
        if (fd < 0) throw new Errno("openat", label + ":" + relForErrors, errno());
        Stat st = fstat(fd);
        if (st.dev() != rootDev) {
            Libc.close(fd);
            throw new IOException(label + ":" + relForErrors + " is on another file system (mount point); refused");
        }
        return fd;
    }

    /**
     * Descriptor of the directory at rel (cached, owned by this Tree: do not close). Throws Errno
     * ENOENT/ENOTDIR/ELOOP when a component is missing, not a directory, or a symlink.
     */
    public synchronized int dirFd(String rel) throws IOException {
        if (rel.isEmpty()) return rootFd;
        Integer cached = dirs.get(rel);
        if (cached != null) return cached;
        String parent = RelPath.parent(rel);
        int pfd = dirFd(parent);
        if (RelPath.depth(rel) > MAX_DEPTH) throw new IOException("path deeper than " + MAX_DEPTH + ": " + rel);
        int fd = openDirAt(pfd, RelPath.decodeComponent(RelPath.name(rel)), rel);
        dirs.put(rel, fd);
        return fd;
    }

    /** A new descriptor of the directory at rel, resolved from the root without the cache (caller closes). */
    public int openDir(String rel) throws IOException {
        int fd = openDirAt(rootFd, new byte[]{'.'}, ".");
        String sofar = "";
        for (String comp : RelPath.split(rel)) {
            sofar = RelPath.join(sofar, comp);
            int next;
            try {
                next = openDirAt(fd, RelPath.decodeComponent(comp), sofar);
            } finally {
                Libc.close(fd);
            }
            fd = next;
        }
        return fd;
    }

    /** Drops cached descriptors of rel and everything below it. */
    public synchronized void invalidate(String rel) {
        for (Iterator<Map.Entry<String, Integer>> it = dirs.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Integer> e = it.next();
            if (RelPath.isUnder(e.getKey(), rel)) { Libc.close(e.getValue()); it.remove(); }
        }
    }

    /** lstat of a relative path; null when it, or a directory on its way, does not exist or is not a directory. */
    public Stat lstat(String rel) throws IOException {
        if (rel.isEmpty()) return fstat(rootFd);
        int pfd;
        try {
            pfd = dirFd(RelPath.parent(rel));
        } catch (Errno e) {
            if (e.errno() == ENOENT || e.errno() == ENOTDIR || e.errno() == ELOOP) return null;
            throw e;
        }
        return lstatAt(pfd, RelPath.decodeComponent(RelPath.name(rel)));
    }

    public byte[] readlinkAt(int dirfd, byte[] name) throws IOException {
        byte[] buf = new byte[4097];
        long n = readlinkat(dirfd, c(name), buf, buf.length);
        if (n < 0) throw new Errno("readlinkat", label + ":" + RelPath.encodeComponent(name), errno());
        if (n >= buf.length) throw new IOException("symlink target too long: " + RelPath.encodeComponent(name));
        byte[] out = new byte[(int) n];
        System.arraycopy(buf, 0, out, 0, (int) n);
        return out;
    }

    public record DirEntry(byte[] name, int dtype) {}

    /** Names in a directory (without "." and ".."), as raw bytes. */
    public List<DirEntry> list(int dirfd) throws IOException {
        int fd = openat(dirfd, new byte[]{'.', 0}, DIR_FLAGS, 0);
        if (fd < 0) throw new Errno("openat", label + ": .", errno());
        Pointer d = fdopendir(fd);
        if (d == null) { int e = errno(); Libc.close(fd); throw new Errno("fdopendir", label, e); }
        List<DirEntry> out = new ArrayList<>();
        try {
            Pointer ent;
            while (true) {
                // readdir returns NULL both at the end and on an error: only errno tells them apart
                Native.setLastError(0);
                ent = readdir64(d);
                if (ent == null) {
                    int e = errno();
                    if (e != 0) throw new Errno("readdir", label + " (after " + out.size() + " names)", e);
                    break;
                }
                int type = ent.getByte(18) & 0xff;
                int len = 0;
                while (len < 256 && ent.getByte(19 + len) != 0) len++;
                byte[] name = ent.getByteArray(19, len);
                if (len == 1 && name[0] == '.') continue;
                if (len == 2 && name[0] == '.' && name[1] == '.') continue;
                out.add(new DirEntry(name, type));
            }
        } finally {
            closedir(d);
        }
        return out;
    }

    /** "/proc/self/fd/N/name": a path that reaches name inside the directory open as dirfd, never through a link. */
    public static byte[] procPath(int dirfd, byte[] name) {
        byte[] pre = ("/proc/self/fd/" + dirfd + (name == null ? "" : "/")).getBytes(StandardCharsets.US_ASCII);
        int n = name == null ? 0 : name.length;
        byte[] out = new byte[pre.length + n + 1];
        System.arraycopy(pre, 0, out, 0, pre.length);
        if (name != null) System.arraycopy(name, 0, out, pre.length, n);
        return out;
    }

    /** All extended attributes of name in dirfd (not following a link), name -> value. */
    public TreeMap<String, byte[]> xattrsAt(int dirfd, byte[] name) throws IOException {
        byte[] p = procPath(dirfd, name);
        TreeMap<String, byte[]> out = new TreeMap<>();
        long n = llistxattr(p, null, 0);
        if (n < 0) {
            int e = errno();
            if (e == EOPNOTSUPP) return out;
            throw new Errno("llistxattr", label + ":" + RelPath.encodeComponent(name), e);
        }
        if (n == 0) return out;
        byte[] list = new byte[(int) n + 256];
        n = llistxattr(p, list, list.length);
        if (n < 0) throw new Errno("llistxattr", label + ":" + RelPath.encodeComponent(name), errno());
        int start = 0;
        for (int i = 0; i < n; i++) {
            if (list[i] == 0) {
                if (i > start) {
                    byte[] xn = Arrays.copyOfRange(list, start, i);
                    byte[] v = getXattr(p, xn);
                    if (v != null) out.put(RelPath.encodeComponent(xn), v);
                }
                start = i + 1;
            }
        }
        return out;
    }

    private byte[] getXattr(byte[] p, byte[] xn) throws IOException {
        byte[] cn = c(xn);
        for (int attempt = 0; attempt < 4; attempt++) {
            long sz = lgetxattr(p, cn, null, 0);
            if (sz < 0) { if (errno() == ENODATA) return null; throw new Errno("lgetxattr", new String(xn), errno()); }
            byte[] v = new byte[(int) sz];
            long got = lgetxattr(p, cn, v, v.length);
            if (got >= 0) return got == v.length ? v : Arrays.copyOf(v, (int) got);
            if (errno() != ERANGE) throw new Errno("lgetxattr", new String(xn), errno());
        }
        throw new IOException("xattr keeps changing size: " + new String(xn));
    }

    /**
     * Opens a regular file for reading without following a link and without blocking (a FIFO
     * planted in its place is detected by fstat and refused, never read).
     */
    public int openFileAt(int dirfd, byte[] name) throws IOException {
        int fd = openat(dirfd, c(name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
        if (fd < 0) throw new Errno("openat", label + ":" + RelPath.encodeComponent(name), errno());
        Stat st = fstat(fd);
        if (st.type() != FileType.FILE) {
            Libc.close(fd);
            throw new IOException(label + ":" + RelPath.encodeComponent(name) + " is not a regular file any more");
        }
        return fd;
    }

    private static final ThreadLocal<ByteBuffer> BUF = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(1 << 20));

    /** SHA-256 of a regular file's content. */
    public String sha256At(int dirfd, byte[] name) throws IOException {
        int fd = openFileAt(dirfd, name);
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            readChunks(fd, (buf, off) -> md.update(buf));
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        } finally {
            Libc.close(fd);
        }
    }

    /** Receives each chunk read: the buffer holds exactly the chunk; {@code end} is the offset after it. */
    private interface ChunkSink {
        void accept(ByteBuffer chunk, long end) throws IOException;
    }

    /** Reads a file from its start to its end with pread, chunk by chunk into the thread's buffer. */
    private void readChunks(int fd, ChunkSink sink) throws IOException {
        ByteBuffer buf = BUF.get();
        long off = 0;
        while (true) {
            buf.clear();
            long n = pread(fd, buf, buf.capacity(), off);
            if (n < 0) { if (errno() == EINTR) continue; throw new Errno("pread", label, errno()); }
            if (n == 0) return;
            buf.position(0).limit((int) n);
            off += n;
            sink.accept(buf, off);
        }
    }

    /** Whole content of a regular file (for three-way merges of small text files). */
    public byte[] readAllAt(int dirfd, byte[] name, long max) throws IOException {
        int fd = openFileAt(dirfd, name);
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            readChunks(fd, (buf, end) -> {
                byte[] chunk = new byte[buf.remaining()];
                buf.get(0, chunk);
                out.write(chunk, 0, chunk.length);
                if (end > max) throw new IOException("file larger than " + max + " bytes");
            });
            return out.toByteArray();
        } finally {
            Libc.close(fd);
        }
    }

    @Override
    public synchronized void close() {
        invalidate("");
        Libc.close(rootFd);
    }
}
