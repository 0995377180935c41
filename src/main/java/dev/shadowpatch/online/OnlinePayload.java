package dev.shadowpatch.online;

import dev.shadowpatch.merge.Entry;
import dev.shadowpatch.merge.MergePlan;
import dev.shadowpatch.merge.Op;
import dev.shadowpatch.merge.fs.FileType;
import dev.shadowpatch.merge.fs.Stat;
import dev.shadowpatch.merge.fs.Tree;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Writes what the guest's applier needs into a run directory on the host: the manifest, one
 * {@code payload-N.tar} per file system with the shadow's entries (GNU tar with owner, mode, times,
 * xattrs, ACLs and file capabilities, hard links kept), and the applier itself. The shadow's file
 * systems are mounted read-only and the shadow is off, so what is checked stays what is packed:
 * each entry must still be the version the plan approved (type, inode, size and time), reached through no
 * symbolic link, or nothing is written.
 */
public final class OnlinePayload {
    /** The applier, shipped in the jar and uploaded next to the manifest. */
    public static final String APPLIER_RESOURCE = "/online/sp-online-apply";
    public static final String APPLIER = "sp-online-apply";

    private OnlinePayload() {
    }

    /**
     * @param shadowRoots where each mount point's shadow file system is mounted on this host
     * @return the run directory's files, for the upload
     */
    public static List<Path> write(OnlinePlan online, Map<String, MergePlan> plans, Map<String, Path> shadowRoots,
                                   Path runDir, String runId) throws IOException {
        String manifest = online.manifest(runId); // refuses a plan that is not online
        Files.createDirectories(runDir);
        Map<String, List<String>> staged = online.staged();
        for (Map.Entry<String, Integer> fs : online.payloadNumbers().entrySet()) {
            String mp = fs.getKey();
            Path root = shadowRoots.get(mp);
            if (root == null) {
                throw new IOException("no shadow file system mounted for " + mp);
            }
            List<String> paths = staged.get(mp);
            checkShadow(mp, root, paths, plans.get(mp));
            Path list = runDir.resolve("payload-" + fs.getValue() + ".list");
            ByteArrayOutputStream names = new ByteArrayOutputStream();
            for (String p : paths) {
                names.write(OnlinePlan.pathBytes(p));
                names.write(0);
            }
            Files.write(list, names.toByteArray());
            tar(root, list, runDir.resolve("payload-" + fs.getValue() + ".tar"));
            Files.delete(list);
        }
        Files.writeString(runDir.resolve("manifest"), manifest);
        Path applier = runDir.resolve(APPLIER);
        try (InputStream in = OnlinePayload.class.getResourceAsStream(APPLIER_RESOURCE)) {
            if (in == null) {
                throw new IOException(APPLIER_RESOURCE + " is missing from the application");
            }
            Files.copy(in, applier, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        Files.setPosixFilePermissions(applier, PosixFilePermissions.fromString("rwx------"));
        try (var files = Files.list(runDir)) {
            return files.sorted().toList();
        }
    }

    /** Each staged entry is the shadow version the plan approved, and no link leads to it. */
    private static void checkShadow(String mp, Path root, List<String> paths, MergePlan plan) throws IOException {
        Map<String, Op> ops = new HashMap<>();
        for (Op o : plan.ops()) {
            ops.put(o.path(), o);
        }
        try (Tree shadow = Tree.open(root, "shadow")) {
            for (String p : paths) {
                Entry planned = ops.get(p).shadow();
                Stat now = shadow.lstat(p); // null also when a directory on its way is a link
                boolean same = now != null && now.type() == planned.type() && now.ino() == planned.ino()
                        && (planned.type() == FileType.DIR || (now.size() == planned.size()
                        && now.mtimeSec() == planned.mtimeSec() && now.mtimeNsec() == planned.mtimeNsec()));
                if (!same) {
                    throw new IOException("the shadow's " + (mp.equals("/") ? "" : mp) + "/" + p
                            + " is not the version the plan approved (or is reached through a link): no payload written");
                }
            }
        }
    }

    private static void tar(Path root, Path list, Path out) throws IOException {
        ProcessBuilder pb = new ProcessBuilder("tar", "--create", "--file", out.toString(), "--directory", root.toString(),
                "--no-recursion", "--null", "--verbatim-files-from", "--files-from", list.toString(), "--format=posix",
                "--xattrs", "--xattrs-include=*", "--acls", "--numeric-owner", "--sparse")
                .redirectErrorStream(true);
        Process p = pb.start();
        byte[] said = p.getInputStream().readAllBytes();
        try {
            if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IOException("tar of the shadow's entries under " + root + " failed: "
                        + new String(said, StandardCharsets.UTF_8).strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while packing the payload", e);
        }
    }
}
