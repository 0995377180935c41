package dev.shadowpatch.merge;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The journal of one merge's execution, on the host (never inside a guest tree): a directory with
 * {@code plan.json}, the exact plan being executed (written before the first write to the live
 * tree), and {@code done}, one line per operation that completed (appended after it completed).
 * A merge killed at any point is resumed from it: the re-run executes the same plan, skips what is
 * done and redoes the rest, each operation accepting the states it leaves halfway (see
 * {@link Executor}). Without the journal a re-run would plan against a half-merged live tree and
 * take its own partial work for live changes. The journal is removed once the merge completed
 * and the live file system was synced.
 * <p>
 * It guards against the merge process dying (SIGKILL, OOM, a node's process crash), not against
 * the host losing its page cache: after a host crash the merge overlay is dropped and a fresh one
 * is merged into (a host crash loses the unsynced live writes as well).
 */
public final class Journal implements AutoCloseable {
    private static final String HEADER = "shadowpatch merge journal 1";

    private final Path dir;
    private final List<String> identity;
    private FileChannel done;

    private Journal(Path dir, List<String> identity) { this.dir = dir; this.identity = identity; }

    /** The journal kept in dir (which need not exist yet) of a merge into the given trees. */
    public static Journal at(Path dir, MergeTrees trees) {
        return new Journal(dir, List.of("base " + abs(trees.base()), "live " + abs(trees.live()), "shadow " + abs(trees.shadow())));
    }

    /** The journal of a merge whose trees are known by other names (the images they are mounted from). */
    public static Journal at(Path dir, String base, String live, String shadow) {
        return new Journal(dir, List.of("base " + base, "live " + live, "shadow " + shadow));
    }

    private static String abs(Path p) { return p.toAbsolutePath().normalize().toString(); }

    public Path dir() { return dir; }

    /** An interrupted merge of these trees: its plan and the operations it completed. */
    public record Interrupted(MergePlan plan, Set<String> done) {}

    /** The merge this journal holds, if one was interrupted; refuses a journal of other trees. */
    public Optional<Interrupted> interrupted() throws IOException {
        Path plan = dir.resolve("plan.json");
        if (!Files.exists(plan)) return Optional.empty();
        List<String> lines = Files.readAllLines(dir.resolve("trees"), StandardCharsets.UTF_8);
        if (lines.size() != 4 || !lines.get(0).equals(HEADER))
            throw new IOException("not a merge journal: " + dir);
        if (!lines.subList(1, 4).equals(identity))
            throw new IOException("the merge journal " + dir + " belongs to other trees: " + lines.subList(1, 4));
        Set<String> done = new HashSet<>();
        Path log = dir.resolve("done");
        if (Files.exists(log)) {
            // a line is complete only with its newline: a kill in the middle of an append leaves a prefix
            String text = Files.readString(log, StandardCharsets.UTF_8);
            int end = text.lastIndexOf('\n');
            for (String l : text.substring(0, end + 1).split("\n")) if (!l.isEmpty()) done.add(l);
        }
        return Optional.of(new Interrupted(MergePlan.fromJson(Files.readString(plan, StandardCharsets.UTF_8)), done));
    }

    /** Records the plan about to be executed (durably, before anything is written to the live tree). */
    public void begin(MergePlan plan) throws IOException {
        Files.createDirectories(dir);
        writeDurably(dir.resolve("trees"), (HEADER + "\n" + String.join("\n", identity) + "\n").getBytes(StandardCharsets.UTF_8));
        Files.deleteIfExists(dir.resolve("done"));
        writeDurably(dir.resolve("plan.json"), plan.toJson().getBytes(StandardCharsets.UTF_8));
        openDoneLog();
    }

    /** Continues an interrupted merge's journal. */
    public void resume() throws IOException {
        openDoneLog();
    }

    private void openDoneLog() throws IOException {
        done = FileChannel.open(dir.resolve("done"), StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    }

    /** Records one completed operation (one write(2): it survives the process, not the host). */
    public synchronized void done(String path) throws IOException {
        if (done == null) return;
        ByteBuffer b = ByteBuffer.wrap((path + "\n").getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) done.write(b);
    }

    /** The merge completed and the live tree is synced: the journal goes. */
    public void finish() throws IOException {
        close();
        for (String f : new String[]{"plan.json", "plan.json.tmp", "done", "trees", "trees.tmp"}) Files.deleteIfExists(dir.resolve(f));
        Files.deleteIfExists(dir);
    }

    /** Removes the journal (of other trees: a fresh merge overlay replaced the one it journaled). */
    public void discard() throws IOException {
        finish();
    }

    @Override
    public synchronized void close() throws IOException {
        if (done != null) { done.close(); done = null; }
    }

    private static void writeDurably(Path file, byte[] content) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel c = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap(content);
            while (b.hasRemaining()) c.write(b);
            c.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel d = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
            d.force(true);
        }
    }
}
