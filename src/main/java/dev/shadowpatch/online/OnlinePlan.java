package dev.shadowpatch.online;

import dev.shadowpatch.merge.Decision;
import dev.shadowpatch.merge.Entry;
import dev.shadowpatch.merge.MergePlan;
import dev.shadowpatch.merge.Op;
import dev.shadowpatch.merge.RelPath;
import dev.shadowpatch.merge.fs.FileType;
import dev.shadowpatch.restart.RestartClass;

import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * The approved merge plan as the in-guest applier ({@code online/sp-online-apply}) runs it in the
 * running live VM, or why it cannot: a pure decision from the restart class, the upgraded packages
 * and the plan of each file system. Every operation carries what the plan saw at its live path (the
 * merge's identity test: type and inode, and size and modification time for all but directories),
 * so the applier writes no path the live VM changed after the plan.
 *
 * <p>The order is the applier's: new directories and files in path order (a parent before its
 * entries), then deletions children first, then the owner, mode and time of directories last (moving
 * entries in or out changes a directory's time).
 */
public final class OnlinePlan {

    /** What the applier does at one path. */
    public enum Verb {
        /** rename the shadow's file, link or device node, staged on the same file system, over the live path */
        PUT("put"),
        /** create a directory the shadow added (its owner, mode and time follow in an {@link #ATTRS}) */
        MKDIR("mkdir"),
        /** remove the live entry (rmdir for a directory) */
        DELETE("delete"),
        /** owner, mode and modification time of the shadow's directory onto the live one */
        ATTRS("attrs");

        private final String word;

        Verb(String word) {
            this.word = word;
        }

        public String word() {
            return word;
        }
    }

    /**
     * One operation.
     *
     * @param expect what the plan saw at the live path: "-" absent, "d" a directory this plan creates,
     *               else {@code TYPE:INO} (a directory) or {@code TYPE:INO:SIZE:SEC.NSEC}; with a leading
     *               "~" where the path's policy keeps the live VM's version in a conflict (its /var/log):
     *               a live change since the plan keeps it, as the reboot's re-decided plan would, instead
     *               of stopping the merge
     * @param mtime  for {@link Verb#ATTRS}: the shadow directory's time ({@code SEC.NSEC}), else null
     */
    public record Step(Verb verb, String mountPoint, String path, String expect, String mtime) {
        public String guestPath() {
            return mountPoint.equals("/") ? "/" + path : mountPoint + "/" + path;
        }
    }

    /** Why one path, or the patch as a whole ({@code where} null), keeps the online merge out. */
    public record Blocked(OnlineBlocker blocker, String where) {
        public String describe() {
            return where == null ? blocker.word() : blocker.word() + " (" + where + ")";
        }
    }

    /**
     * Packages whose new version only a reboot puts to use, whatever the restart class says: the
     * kernel and its modules, microcode, the init system and udev, the C library, the system bus.
     */
    static final Set<String> REBOOT_PACKAGES = Set.of("systemd", "systemd-sysv", "libsystemd-shared", "udev", "libc6",
            "dbus", "dbus-daemon", "dbus-system-bus-common");
    static final List<String> REBOOT_PACKAGE_PREFIXES = List.of("linux-image-", "linux-modules-", "intel-microcode",
            "amd64-microcode");

    private final List<Step> steps;
    private final List<Blocked> blocked;

    private OnlinePlan(List<Step> steps, List<Blocked> blocked) {
        this.steps = List.copyOf(steps);
        this.blocked = List.copyOf(blocked);
    }

    /** The same plan with one more reason against it (one the plan's own inputs do not show). */
    public OnlinePlan blockedAlso(Blocked why) {
        List<Blocked> more = new java.util.ArrayList<>(blocked);
        more.add(why);
        return new OnlinePlan(steps, more);
    }

    public static boolean rebootPackage(String name) {
        return REBOOT_PACKAGES.contains(name) || REBOOT_PACKAGE_PREFIXES.stream().anyMatch(name::startsWith);
    }

    /**
     * @param restart   the restart class the shadow found; null when it could not say
     * @param packages  the names of the packages the patch upgrades or installs
     * @param plans     the approved plan of each file system, by guest mount point
     */
    public static OnlinePlan of(RestartClass restart, Collection<String> packages, Map<String, MergePlan> plans) {
        List<Blocked> blocked = new ArrayList<>();
        if (restart == null) {
            blocked.add(new Blocked(OnlineBlocker.RESTART_UNKNOWN, null));
        } else if (restart == RestartClass.SYSTEM) {
            blocked.add(new Blocked(OnlineBlocker.RESTART_NEEDS_REBOOT, null));
        }
        packages.stream().filter(OnlinePlan::rebootPackage).sorted()
                .forEach(p -> blocked.add(new Blocked(OnlineBlocker.REBOOT_PACKAGE, p)));
        List<Step> forward = new ArrayList<>(), deletes = new ArrayList<>(), attrs = new ArrayList<>();
        for (Map.Entry<String, MergePlan> fs : new TreeMap<>(plans).entrySet()) {
            for (Op o : fs.getValue().ops()) {
                steps(fs.getKey(), o, forward, deletes, attrs, blocked);
            }
        }
        java.util.Collections.reverse(deletes);
        java.util.Collections.reverse(attrs);
        List<Step> steps = new ArrayList<>(forward);
        steps.addAll(deletes);
        steps.addAll(attrs);
        return new OnlinePlan(steps, blocked);
    }

    private static void steps(String mp, Op o, List<Step> forward, List<Step> deletes, List<Step> attrs, List<Blocked> blocked) {
        String where = new Step(Verb.PUT, mp, o.path(), "", null).guestPath();
        Entry live = o.live(), shadow = o.shadow();
        String soft = o.policy() == Decision.KEEP_LIVE ? "~" : "";
        switch (o.action()) {
            case NONE -> { }
            case ASK -> blocked.add(new Blocked(OnlineBlocker.UNDECIDED_CONFLICT, where));
            case MERGE3 -> blocked.add(new Blocked(OnlineBlocker.THREE_WAY_MERGE, where));
            case HYBRID -> blocked.add(new Blocked(OnlineBlocker.HYBRID_COPY, where));
            case DELETE -> deletes.add(new Step(Verb.DELETE, mp, o.path(), soft + expect(live), null));
            case WRITE, META -> {
                boolean dirBefore = live != null && live.type() == FileType.DIR;
                boolean dirAfter = shadow.type() == FileType.DIR;
                if (shadow.type() == FileType.SOCKET) {
                    blocked.add(new Blocked(OnlineBlocker.SOCKET, where));
                } else if (live != null && dirBefore != dirAfter) {
                    blocked.add(new Blocked(OnlineBlocker.DIRECTORY_TYPE_CHANGE, where));
                } else if (!dirAfter) {
                    // a file whose metadata alone changed is staged whole too: one way to write, by rename
                    forward.add(new Step(Verb.PUT, mp, o.path(), soft + expect(live), null));
                } else if (!shadow.xattrs().equals(live == null ? Map.of() : live.xattrs())) {
                    blocked.add(new Blocked(OnlineBlocker.DIRECTORY_XATTRS, where));
                } else {
                    if (live == null) {
                        forward.add(new Step(Verb.MKDIR, mp, o.path(), "-", null));
                    }
                    attrs.add(new Step(Verb.ATTRS, mp, o.path(), live == null ? "d" : expect(live),
                            shadow.mtimeSec() + "." + String.format("%09d", shadow.mtimeNsec())));
                }
            }
        }
    }

    /** The plan's view of a live path in the applier's terms (see {@link Step#expect}). */
    static String expect(Entry e) {
        if (e == null) {
            return "-";
        }
        int type = e.type().modeBits();
        if (e.type() == FileType.DIR) {
            return type + ":" + e.ino();
        }
        return type + ":" + e.ino() + ":" + e.size() + ":" + e.mtimeSec() + "." + String.format("%09d", e.mtimeNsec());
    }

    /** Whether the window may merge online: nothing blocks it. */
    public boolean possible() {
        return blocked.isEmpty();
    }

    public List<Blocked> blocked() {
        return blocked;
    }

    public List<Step> steps() {
        return steps;
    }

    /** One line for the form and the audit: why not online, the first few reasons and how many more. */
    public String whyNot() {
        if (possible()) {
            return "";
        }
        List<String> shown = blocked.stream().limit(3).map(Blocked::describe).toList();
        int more = blocked.size() - shown.size();
        return String.join("; ", shown) + (more > 0 ? "; +" + more + " more" : "");
    }

    /**
     * The shadow's entries the payload carries, by mount point, in path order: those the applier
     * renames into place and the directories whose owner and mode it copies.
     */
    public Map<String, List<String>> staged() {
        Map<String, List<String>> out = new TreeMap<>();
        Predicate<Step> fromShadow = s -> s.verb() == Verb.PUT || s.verb() == Verb.ATTRS;
        for (Step s : steps) {
            if (fromShadow.test(s)) {
                out.computeIfAbsent(s.mountPoint(), k -> new ArrayList<>()).add(s.path());
            }
        }
        out.values().forEach(l -> l.sort(null));
        return out;
    }

    /**
     * The applier's manifest: the run's id, each staged file system's payload number, the steps.
     * Paths are base64 of their bytes, so any file name (spaces, newlines, bytes that are not UTF-8)
     * reaches the guest unchanged.
     */
    public String manifest(String runId) {
        if (!runId.matches("[A-Za-z0-9_-]+")) {
            throw new IllegalArgumentException("a run id of letters, digits, '-' and '_' only: " + runId);
        }
        if (!possible()) {
            throw new IllegalStateException("not an online plan: " + whyNot());
        }
        StringBuilder m = new StringBuilder("sp-online-manifest 1 ").append(runId).append('\n');
        Map<String, Integer> payloads = payloadNumbers();
        payloads.forEach((mp, n) -> m.append("fs ").append(n).append(' ').append(b64(mp.getBytes(java.nio.charset.StandardCharsets.UTF_8))).append('\n'));
        for (Step s : steps) {
            m.append("op ").append(s.verb().word()).append(' ').append(s.expect()).append(' ')
                    .append(b64(s.mountPoint().getBytes(java.nio.charset.StandardCharsets.UTF_8))).append(' ')
                    .append(b64(pathBytes(s.path())));
            if (s.mtime() != null) {
                m.append(' ').append(s.mtime());
            }
            m.append('\n');
        }
        return m.toString();
    }

    /** payload-N.tar for each mount point with staged entries, numbered from 0 in mount point order. */
    public Map<String, Integer> payloadNumbers() {
        Map<String, Integer> n = new LinkedHashMap<>();
        for (String mp : staged().keySet()) {
            n.put(mp, n.size());
        }
        return n;
    }

    /** A path's bytes as the applier and tar take them (a plan never holds a file system's root itself). */
    public static byte[] pathBytes(String rel) {
        return RelPath.decodeBytes(RelPath.requireSafe(rel));
    }

    private static String b64(byte[] b) {
        return Base64.getEncoder().encodeToString(b);
    }
}
