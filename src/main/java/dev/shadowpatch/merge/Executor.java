package dev.shadowpatch.merge;

import dev.shadowpatch.merge.fs.Errno;
import dev.shadowpatch.merge.fs.FileType;
import dev.shadowpatch.merge.fs.Libc;
import dev.shadowpatch.merge.fs.Stat;
import dev.shadowpatch.merge.fs.Tree;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static dev.shadowpatch.merge.fs.Libc.*;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Collections;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Execute stage: applies a plan to the live tree. Every live path is reached through directory
 * descriptors opened component by component without following links ({@link Tree}); every new
 * entry is built under a temporary name in its final directory (".sp-tmp-" + hash of the name)
 * with owner, mode, xattrs (ACLs and file capabilities included) and times set, then renamed into
 * place. FIFOs, sockets and device nodes are made with mknodat in the securely opened directory and
 * are never opened. Before each operation the live entry is checked against the plan: if it is
 * already the shadow's version the operation counts as done (a re-run after a crash), if it changed
 * otherwise the operation is refused and reported as left.
 */
final class Executor {
    private static final ThreadLocal<ByteBuffer> BUF = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(1 << 20));

    /** What a run did: operations left undone (path -> why), those found already done, bytes written. */
    record Result(Map<String, String> left, List<String> alreadyDone, long bytesCopied) {}

    private final Tree base, live, shadow;
    private final Versions versions;
    private final TextMerge merger;
    private final AtomicLong copied = new AtomicLong();
    private final Map<String, String> failed = Collections.synchronizedMap(new LinkedHashMap<>());
    private final List<String> alreadyDone = Collections.synchronizedList(new ArrayList<>());
    /** worker threads for plain file copies (grouped by directory); 1 = sequential */
    private final int threads;
    /** shadow inode -> live path already written for it (hard links) */
    private final Map<Long, String> linkGroups = new HashMap<>();
    private final List<Op> dirMeta = new ArrayList<>();
    /** where completed operations are recorded (null: no journal) */
    private final Journal journal;
    /** operations an interrupted run of this plan completed (its journal): skipped */
    private final Set<String> doneBefore;
    /** resuming an interrupted run: an operation may find the live entry in a state it left halfway */
    private final boolean resuming;
    /** no operation starts after this (null: none); the rest is left, so the merge is incomplete */
    private final Instant deadline;

    Executor(Tree base, Tree live, Tree shadow, Versions versions, Journal journal, Set<String> doneBefore, boolean resuming,
             Instant deadline) {
        this.base = base; this.live = live; this.shadow = shadow; this.versions = versions;
        this.threads = Math.min(4, Math.max(1, Runtime.getRuntime().availableProcessors() * 2));
        this.merger = new TextMerge(base, live, shadow);
        this.journal = journal; this.doneBefore = doneBefore; this.resuming = resuming; this.deadline = deadline;
    }

    Result run(MergePlan plan) {
        List<Op> deletes = new ArrayList<>(), writes = new ArrayList<>();
        for (Op o : plan.ops()) {
            if (doneBefore.contains(o.path())) { rememberLink(o); continue; }
            switch (o.action()) {
                case DELETE -> deletes.add(o);
                case WRITE, META, MERGE3, HYBRID -> writes.add(o);
                case ASK -> throw new IllegalStateException("plan holds an unresolved conflict: /" + o.path());
                case NONE -> { }
            }
        }
        Comparator<Op> byDepth = Comparator.comparingInt((Op o) -> RelPath.depth(o.path())).thenComparing(Op::path);
        deletes.sort(byDepth.reversed());
        for (Op o : deletes) complete(o, () -> delete(o));
        // directories that change type are removed after their children, before anything is written
        List<Op> typeChanges = new ArrayList<>();
        for (Op o : writes) if (o.live() != null && o.live().type() == FileType.DIR && o.shadow() != null && o.shadow().type() != FileType.DIR) typeChanges.add(o);
        typeChanges.sort(byDepth.reversed());
        for (Op o : typeChanges) attempt(o, () -> removeLiveDirForTypeChange(o));
        writes.sort(byDepth);
        // Plain file copies (no directory on either side, a single link) are independent of each
        // other once all directories exist: they run last, grouped by directory, on worker threads
        // that open their own directory descriptors. Everything else runs in order, shallowest first.
        Map<String, List<Op>> plain = new TreeMap<>();
        for (Op o : writes) {
            boolean isPlain = o.action() == Op.Action.WRITE && o.shadow() != null && o.shadow().type() != FileType.DIR
                    && o.shadow().nlink() == 1 && (o.live() == null || o.live().type() != FileType.DIR);
            if (isPlain) { plain.computeIfAbsent(RelPath.parent(o.path()), k -> new ArrayList<>()).add(o); continue; }
            if (failed.containsKey(o.path())) continue;
            if (notAttempted(o)) continue;
            if (completesWithDirMeta(o)) attempt(o, () -> write(o, live.dirFd(RelPath.parent(o.path())), -1));
            else complete(o, () -> write(o, live.dirFd(RelPath.parent(o.path())), -1));
        }
        runPlain(plain);
        dirMeta.sort(byDepth.reversed());
        for (Op o : dirMeta) complete(o, () -> applyMetadata(live.dirFd(RelPath.parent(o.path())), name(o.path()), o.shadow(), -1));
        synchronized (failed) {
            return new Result(new LinkedHashMap<>(failed), List.copyOf(alreadyDone), copied.get());
        }
    }

    /** Flushes the live file system (one syncfs, after all renames): empty, or why it failed (the merge is then incomplete). */
    Optional<String> sync() {
        if (Libc.syncfs(live.rootFd()) == 0) return Optional.empty();
        return Optional.of("syncfs of the live file system failed: " + new Errno("syncfs", "live", errno()).getMessage());
    }

    private boolean notAttempted(Op o) {
        String parentFailure = failedAncestor(o.path());
        if (parentFailure == null) return false;
        failed.put(o.path(), "not attempted: /" + parentFailure + " failed");
        return true;
    }

    private void runPlain(Map<String, List<Op>> byDir) {
        if (byDir.isEmpty()) return;
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "merge-copy");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (Map.Entry<String, List<Op>> e : byDir.entrySet()) fs.add(pool.submit(() -> copyDir(e.getKey(), e.getValue())));
            for (Future<?> f : fs) {
                try {
                    f.get();
                } catch (ExecutionException ex) {
                    throw new IllegalStateException(ex.getCause());
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(ex);
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** One directory's plain copies, with descriptors of its own (never shared with other threads). */
    private void copyDir(String dir, List<Op> ops) {
        int lfd = -1, sfd = -1;
        try {
            lfd = live.openDir(dir);
            sfd = shadow.openDir(dir);
            for (Op o : ops) {
                if (notAttempted(o)) continue;
                int l = lfd, s = sfd;
                complete(o, () -> write(o, l, s));
            }
        } catch (IOException ex) {
            for (Op o : ops) failed.putIfAbsent(o.path(), ex.getMessage());
        } finally {
            if (lfd >= 0) Libc.close(lfd);
            if (sfd >= 0) Libc.close(sfd);
        }
    }

    private String failedAncestor(String rel) {
        for (String p = RelPath.parent(rel); !p.isEmpty(); p = RelPath.parent(p)) if (failed.containsKey(p)) return p;
        return null;
    }

    interface Step { void run() throws IOException; }

    /** Runs one step of o; a failure is recorded as left, and so is every step once the deadline passed. */
    private boolean attempt(Op o, Step s) {
        if (deadline != null && Instant.now().isAfter(deadline)) {
            failed.putIfAbsent(o.path(), "not attempted: the merge's deadline " + deadline + " passed");
            return false;
        }
        try {
            s.run();
            return true;
        } catch (IOException | RuntimeException e) {
            failed.putIfAbsent(o.path(), e.getMessage() == null ? e.toString() : e.getMessage());
            return false;
        }
    }

    /** Runs the last step of o and records o as done in the journal. */
    private void complete(Op o, Step s) {
        attempt(o, () -> { s.run(); if (journal != null) journal.done(o.path()); });
    }

    /** A directory written or changed gets its metadata after its children: it completes then. */
    private static boolean completesWithDirMeta(Op o) {
        return (o.action() == Op.Action.WRITE || o.action() == Op.Action.META) && o.shadow() != null && o.shadow().type() == FileType.DIR;
    }

    /** Hard links: the live path written for a shadow inode with several names, so its other names link to it. */
    private void rememberLink(Op o) {
        Entry s = o.shadow();
        if (s != null && s.type() == FileType.FILE && s.nlink() > 1 && o.action() == Op.Action.WRITE)
            synchronized (linkGroups) { linkGroups.putIfAbsent(s.ino(), o.path()); }
    }

    private static byte[] name(String rel) { return RelPath.decodeComponent(RelPath.name(rel)); }

    static byte[] tempName(byte[] name) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-1").digest(name);
            return (".sp-tmp-" + HexFormat.of().formatHex(h)).getBytes(StandardCharsets.US_ASCII);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The live entry now is the one the plan was made against (same type and inode, or both absent). */
    private static boolean asPlanned(Stat now, Entry planned) {
        if (planned == null) return now == null;
        return now != null && now.type() == planned.type() && now.ino() == planned.ino()
                && (planned.type() == FileType.DIR || (now.size() == planned.size() && now.mtimeSec() == planned.mtimeSec()
                && now.mtimeNsec() == planned.mtimeNsec()));
    }

    // ---------- delete ----------

    private void delete(Op o) throws IOException {
        int pfd;
        try {
            pfd = live.dirFd(RelPath.parent(o.path()));
        } catch (Errno e) {
            if (Detector.isMissing(e)) { alreadyDone.add(o.path()); return; }
            throw e;
        }
        byte[] n = name(o.path());
        Stat now = live.lstatAt(pfd, n);
        if (now == null) { alreadyDone.add(o.path()); return; }
        if (!asPlanned(now, o.live())) throw new IOException("live entry changed since the plan was made; replan");
        if (now.type() == FileType.DIR) {
            live.invalidate(o.path());
            if (unlinkat(pfd, c(n), AT_REMOVEDIR) != 0) {
                int e = errno();
                if (e == ENOTEMPTY && Rule.TAKE_SHADOW.equals(o.rule())) { removeTree(pfd, n, o.path(), 0); return; }
                throw new Errno("rmdir", "live:" + o.path(), e);
            }
        } else if (unlinkat(pfd, c(n), 0) != 0) throw new Errno("unlink", "live:" + o.path(), errno());
    }

    /** Removes a live directory tree (operator chose take-shadow over live additions), descriptor-relative. */
    private void removeTree(int pfd, byte[] n, String rel, int depth) throws IOException {
        if (depth > Tree.MAX_DEPTH) throw new IOException("tree too deep: " + rel);
        int fd = live.openDirAt(pfd, n, rel);
        try {
            for (Tree.DirEntry d : live.list(fd)) {
                Stat st = live.lstatAt(fd, d.name());
                if (st == null) continue;
                if (st.type() == FileType.DIR) removeTree(fd, d.name(), RelPath.join(rel, RelPath.encodeComponent(d.name())), depth + 1);
                else if (unlinkat(fd, c(d.name()), 0) != 0) throw new Errno("unlink", "live:" + rel, errno());
            }
        } finally {
            Libc.close(fd);
        }
        if (unlinkat(pfd, c(n), AT_REMOVEDIR) != 0) throw new Errno("rmdir", "live:" + rel, errno());
    }

    private void removeLiveDirForTypeChange(Op o) throws IOException {
        int pfd = live.dirFd(RelPath.parent(o.path()));
        byte[] n = name(o.path());
        Stat now = live.lstatAt(pfd, n);
        if (now == null || now.type() != FileType.DIR) return; // done before a crash, or replaced already
        if (!asPlanned(now, o.live())) throw new IOException("live entry changed since the plan was made; replan");
        live.invalidate(o.path());
        if (Rule.TAKE_SHADOW.equals(o.rule())) { removeTree(pfd, n, o.path(), 0); return; }
        if (unlinkat(pfd, c(n), AT_REMOVEDIR) != 0) throw new Errno("rmdir", "live:" + o.path(), errno());
    }

    // ---------- write ----------

    /** pfd: live parent directory; spfd: shadow parent directory, or -1 to look it up (cached). */
    private void write(Op o, int pfd, int spfd) throws IOException {
        String rel = o.path();
        byte[] n = name(rel);
        Stat now = live.lstatAt(pfd, n);
        Entry s = o.shadow();
        boolean planned = asPlanned(now, o.live()) || (o.live() != null && o.live().type() == FileType.DIR && now == null
                && s != null && s.type() != FileType.DIR);
        if (!planned && resuming && s != null && s.type() == FileType.DIR && now != null && now.type() == FileType.DIR)
            planned = true; // made by the interrupted run, its metadata not yet set
        if (!planned) {
            if (now != null && resuming && (mergedVersionDone(o, pfd, n, now) || hybridLinkDone(o, pfd, n, now))) { alreadyDone.add(rel); return; }
            if (now != null && isShadowVersion(pfd, n, now, rel, spfd)) { rememberLink(o); alreadyDone.add(rel); return; }
            throw new IOException("live entry changed since the plan was made; replan");
        }
        switch (o.action()) {
            case META -> {
                if (s.type() == FileType.DIR) dirMeta.add(o);
                else applyMetadata(pfd, n, s, -1);
            }
            case WRITE -> {
                if (s.type() == FileType.DIR) {
                    if (now == null) {
                        if (mkdirat(pfd, c(n), 0700) != 0) throw new Errno("mkdirat", "live:" + rel, errno());
                    } else if (now.type() != FileType.DIR) {
                        byte[] t = tempName(n);
                        unlinkat(pfd, c(t), AT_REMOVEDIR);
                        if (mkdirat(pfd, c(t), 0700) != 0) throw new Errno("mkdirat", "live:" + rel, errno());
                        if (renameat(pfd, c(t), pfd, c(n)) != 0) {
                            if (unlinkat(pfd, c(n), 0) != 0 || renameat(pfd, c(t), pfd, c(n)) != 0)
                                throw new Errno("renameat", "live:" + rel, errno());
                        }
                    }
                    live.invalidate(rel);
                    dirMeta.add(o);
                } else {
                    byte[] t = tempName(n);
                    buildFromShadow(pfd, t, rel, s, spfd);
                    if (renameat(pfd, c(t), pfd, c(n)) != 0) throw new Errno("renameat", "live:" + rel, errno());
                }
            }
            case MERGE3 -> {
                byte[] merged = merger.mergedContent(rel, o.base() != null);
                if (merged == null || !TextMerge.sha256(merged).equals(o.mergedSha256()))
                    throw new IOException("three-way merge no longer gives the approved result; replan");
                byte[] t = tempName(n);
                unlinkat(pfd, c(t), 0);
                int fd = openat(pfd, c(t), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0) throw new Errno("openat", "live:" + rel, errno());
                try {
                    ByteBuffer buf = ByteBuffer.allocateDirect(Math.max(1, merged.length));
                    buf.put(merged).flip();
                    long off = 0;
                    while (off < merged.length) {
                        long w = pwrite(fd, buf.position((int) off), merged.length - off, off);
                        if (w < 0) throw new Errno("pwrite", "live:" + rel, errno());
                        off += w;
                    }
                    copied.addAndGet(merged.length);
                    applyMetadata(pfd, t, mergedMetadata(o), fd);
                } finally {
                    Libc.close(fd);
                }
                if (renameat(pfd, c(t), pfd, c(n)) != 0) throw new Errno("renameat", "live:" + rel, errno());
            }
            case HYBRID -> hybrid(o, pfd, n);
            default -> throw new IllegalStateException("not a write: " + o.action());
        }
    }

    /** Paper rule 4: keep the live version as NAME.sp-live-INO, copy the shadow's as NAME.sp-shadow-INO, NAME -> the shadow copy. */
    private void hybrid(Op o, int pfd, byte[] n) throws IOException {
        Entry l = o.live(), s = o.shadow();
        byte[] liveName = concat(n, (".sp-live-" + l.ino()).getBytes(StandardCharsets.US_ASCII));
        byte[] shadowName = concat(n, (".sp-shadow-" + s.ino()).getBytes(StandardCharsets.US_ASCII));
        byte[] t = tempName(shadowName);
        buildFromShadow(pfd, t, o.path(), s, -1);
        if (renameat(pfd, c(t), pfd, c(shadowName)) != 0) throw new Errno("renameat", "live:" + o.path(), errno());
        if (live.lstatAt(pfd, liveName) == null && linkat(pfd, c(n), pfd, c(liveName), 0) != 0)
            throw new Errno("linkat", "live:" + o.path(), errno());
        byte[] lt = tempName(n);
        unlinkat(pfd, c(lt), 0);
        if (symlinkat(c(shadowName), pfd, c(lt)) != 0) throw new Errno("symlinkat", "live:" + o.path(), errno());
        if (renameat(pfd, c(lt), pfd, c(n)) != 0) throw new Errno("renameat", "live:" + o.path(), errno());
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = new byte[a.length + b.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /**
     * Per field (and per xattr): the shadow's value where the shadow changed it, else the live one.
     * A field both changed differently never gets here: the planner makes such a path a conflict.
     */
    private static Entry mergedMetadata(Op o) {
        Entry b = o.base(), l = o.live(), s = o.shadow();
        if (b == null) return s;
        int mode = s.mode() != b.mode() ? s.mode() : l.mode();
        int uid = s.uid() != b.uid() ? s.uid() : l.uid();
        int gid = s.gid() != b.gid() ? s.gid() : l.gid();
        Map<String, String> x = new TreeMap<>();
        Set<String> keys = new TreeSet<>(b.xattrs().keySet());
        keys.addAll(l.xattrs().keySet());
        keys.addAll(s.xattrs().keySet());
        for (String k : keys) {
            String v = Objects.equals(s.xattrs().get(k), b.xattrs().get(k)) ? l.xattrs().get(k) : s.xattrs().get(k);
            if (v != null) x.put(k, v);
        }
        return new Entry(FileType.FILE, mode, uid, gid, 0, null, null, null, x, null, 0, 1, s.mtimeSec(), s.mtimeNsec());
    }

    /** MERGE3 of an interrupted run renamed into place: the live file holds the approved merge. */
    private boolean mergedVersionDone(Op o, int pfd, byte[] n, Stat now) throws IOException {
        if (o.action() != Op.Action.MERGE3 || now.type() != FileType.FILE) return false;
        Entry m = mergedMetadata(o);
        return now.mode() == m.mode() && now.uid() == m.uid() && now.gid() == m.gid()
                && live.sha256At(pfd, n).equals(o.mergedSha256());
    }

    /** HYBRID of an interrupted run completed: the name is the link to the shadow's copy. */
    private boolean hybridLinkDone(Op o, int pfd, byte[] n, Stat now) throws IOException {
        if (o.action() != Op.Action.HYBRID || now.type() != FileType.SYMLINK) return false;
        byte[] want = concat(n, (".sp-shadow-" + o.shadow().ino()).getBytes(StandardCharsets.UTF_8));
        return Arrays.equals(live.readlinkAt(pfd, n), want);
    }

    private boolean isShadowVersion(int pfd, byte[] n, Stat now, String rel, int spfd) throws IOException {
        if (spfd < 0) spfd = shadow.dirFd(RelPath.parent(rel));
        Stat ss = shadow.lstatAt(spfd, n);
        if (ss == null) return false;
        return versions.sameAt(live, pfd, now, shadow, spfd, ss, n);
    }

    /** Creates tempName in live dir pfd as a copy of the shadow's entry rel (never opening special files). */
    private void buildFromShadow(int pfd, byte[] t, String rel, Entry planned, int spfd) throws IOException {
        if (spfd < 0) spfd = shadow.dirFd(RelPath.parent(rel));
        byte[] n = name(rel);
        Stat ss = shadow.lstatAt(spfd, n);
        if (ss == null || ss.type() != planned.type() || ss.ino() != planned.ino())
            throw new IOException("shadow entry changed since the plan was made");
        Entry s = Entry.of(ss, null, xattrsOf(shadow, spfd, n), null);
        if (ss.type() != FileType.FILE) unlinkat(pfd, c(t), 0);
        switch (ss.type()) {
            case FILE -> {
                if (ss.nlink() > 1) {
                    String first;
                synchronized (linkGroups) { first = linkGroups.get(ss.ino()); }
                    if (first != null) {
                        int fpfd = live.dirFd(RelPath.parent(first));
                        unlinkat(pfd, c(t), 0); // a stale temporary name of an interrupted run
                        if (linkat(fpfd, c(name(first)), pfd, c(t), 0) == 0) return;
                    }
                }
                int src = shadow.openFileAt(spfd, n);
                int dst = openat(pfd, c(t), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (dst < 0 && errno() == EEXIST) { // a stale temporary file from a crash
                    unlinkat(pfd, c(t), 0);
                    dst = openat(pfd, c(t), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                }
                if (dst < 0) { int e = errno(); Libc.close(src); throw new Errno("openat", "live:" + rel, e); }
                try {
                    copySparse(src, dst, ss.size(), rel, ss.blocks() * 512 < ss.size());
                    applyMetadata(pfd, t, s, dst);
                } finally {
                    Libc.close(src);
                    Libc.close(dst);
                }
                if (ss.nlink() > 1) synchronized (linkGroups) { linkGroups.putIfAbsent(ss.ino(), rel); }
            }
            case SYMLINK -> {
                byte[] target = shadow.readlinkAt(spfd, n);
                if (symlinkat(c(target), pfd, c(t)) != 0) throw new Errno("symlinkat", "live:" + rel, errno());
                applyMetadata(pfd, t, s, -1);
            }
            case FIFO, CHAR, BLOCK, SOCKET -> {
                long dev = (ss.type() == FileType.CHAR || ss.type() == FileType.BLOCK) ? makedev(ss.rdevMajor(), ss.rdevMinor()) : 0;
                if (mknodat(pfd, c(t), ss.type().modeBits() | 0600, dev) != 0) throw new Errno("mknodat", "live:" + rel, errno());
                applyMetadata(pfd, t, s, -1);
            }
            case DIR -> throw new IllegalStateException("directories are not built under a temporary name");
        }
    }

    private void copySparse(int src, int dst, long size, String rel, boolean maybeSparse) throws IOException {
        ByteBuffer buf = BUF.get();
        long off = 0;
        boolean sparse = maybeSparse;
        while (off < size) {
            long data, hole;
            if (sparse) {
                data = lseek(src, off, SEEK_DATA);
                if (data < 0) {
                    int e = errno();
                    if (e == ENXIO) break;
                    sparse = false;
                    data = off;
                    hole = size;
                } else {
                    hole = lseek(src, data, SEEK_HOLE);
                    if (hole < 0) hole = size;
                }
            } else { data = off; hole = size; }
            long pos = data;
            while (pos < hole) {
                buf.clear();
                long want = Math.min(buf.capacity(), hole - pos);
                long r = pread(src, buf, want, pos);
                if (r < 0) { if (errno() == EINTR) continue; throw new Errno("pread", "shadow:" + rel, errno()); }
                if (r == 0) { hole = pos; size = Math.min(size, pos); break; }
                long w = 0;
                while (w < r) {
                    buf.position((int) w);
                    long k = pwrite(dst, buf, r - w, pos + w);
                    if (k < 0) { if (errno() == EINTR) continue; throw new Errno("pwrite", "live:" + rel, errno()); }
                    w += k;
                }
                pos += r;
                copied.addAndGet(r);
            }
            off = hole;
        }
        if (ftruncate(dst, size) != 0) throw new Errno("ftruncate", "live:" + rel, errno());
    }

    private static Map<String, String> xattrsOf(Tree t, int pfd, byte[] n) throws IOException {
        Map<String, String> out = new TreeMap<>();
        for (Map.Entry<String, byte[]> e : t.xattrsAt(pfd, n).entrySet())
            out.put(e.getKey(), Base64.getEncoder().encodeToString(e.getValue()));
        return out;
    }

    /**
     * Owner, mode, xattrs, times of entry n in live dir pfd (fd: an open descriptor of it, or -1).
     * Order matters: chown clears setuid bits and file capabilities, so it comes first; mode next;
     * xattrs (ACLs, security.capability) after; times last.
     */
    private void applyMetadata(int pfd, byte[] n, Entry e, int fd) throws IOException {
        String what = "live:" + RelPath.encodeComponent(n);
        if (fd >= 0 ? fchown(fd, e.uid(), e.gid()) != 0 : fchownat(pfd, c(n), e.uid(), e.gid(), AT_SYMLINK_NOFOLLOW) != 0)
            throw new Errno("chown", what, errno());
        if (e.type() != FileType.SYMLINK) {
            if (fd >= 0) {
                if (fchmod(fd, e.mode()) != 0) throw new Errno("fchmod", what, errno());
            } else {
                int pf = openat(pfd, c(n), O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
                if (pf < 0) throw new Errno("openat", what, errno());
                try {
                    Stat st = Tree.fstat(pf);
                    if (st.type() != e.type()) throw new IOException(what + " changed type under us");
                    if (chmod(Tree.procPath(pf, null), e.mode()) != 0) throw new Errno("chmod", what, errno());
                } finally {
                    Libc.close(pf);
                }
            }
        }
        // xattrs: remove those the target should not have, set the others
        byte[] pp = Tree.procPath(pfd, n);
        TreeMap<String, byte[]> have = live.xattrsAt(pfd, n);
        for (String k : have.keySet()) {
            if (!e.xattrs().containsKey(k)) {
                byte[] kn = c(RelPath.decodeComponent(k));
                if ((fd >= 0 ? fremovexattr(fd, kn) : lremovexattr(pp, kn)) != 0) throw new Errno("removexattr", what + " " + k, errno());
            }
        }
        for (Map.Entry<String, String> x : e.xattrs().entrySet()) {
            byte[] v = Base64.getDecoder().decode(x.getValue());
            byte[] old = have.get(x.getKey());
            if (old != null && Arrays.equals(old, v) && !x.getKey().equals("security.capability")) continue;
            byte[] kn = c(RelPath.decodeComponent(x.getKey()));
            int r = fd >= 0 ? fsetxattr(fd, kn, v, v.length, 0) : lsetxattr(pp, kn, v, v.length, 0);
            if (r != 0) throw new Errno("setxattr", what + " " + x.getKey(), errno());
        }
        long[] times = {e.mtimeSec(), e.mtimeNsec(), e.mtimeSec(), e.mtimeNsec()};
        if (fd >= 0 ? futimens(fd, times) != 0 : utimensat(pfd, c(n), times, AT_SYMLINK_NOFOLLOW) != 0)
            throw new Errno("utimens", what, errno());
    }
}
