package dev.shadowpatch.restart;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Decides the restart a patch needs from what ran before it and what it changed: a pure function
 * (the case table is {@code RestartClassifierTest}). What needrestart does, without running anything
 * interactive in the guest: a process needs a restart when a file it maps (its executable, a
 * library) is not the same file any more.
 *
 * <ul>
 *   <li>{@link RestartClass#SYSTEM}: a new kernel package, or PID 1 ({@code init.scope}) or the system
 *       bus maps a changed file (the C library, systemd's own libraries): restarting them in place is
 *       not done on a production system.</li>
 *   <li>{@link RestartClass#SERVICES}: some service units map changed files (or mapped a file that
 *       was already replaced before the patch): those units.</li>
 *   <li>{@link RestartClass#NONE}: no running code changed.</li>
 * </ul>
 * Session scopes and processes outside any unit keep old code until they end: listed, never a reason.
 */
public final class RestartClassifier {
    /** Units whose restart is a reboot in all but name: the system bus (every daemon holds a connection to it). */
    static final Set<String> BUS_UNITS = Set.of("dbus.service", "dbus-broker.service");

    private RestartClassifier() {}

    /**
     * @param before          what ran in the shadow before the patch, with each file's identity then
     * @param now             the same paths' identity after the patch (a path missing here is gone)
     * @param changedPackages the names of the packages the patch upgraded, installed or removed
     */
    public static RestartNeed classify(RunningCode before, Map<String, FileState> now, Collection<String> changedPackages) {
        List<String> system = new ArrayList<>();
        changedPackages.stream().filter(p -> p.startsWith("linux-image-")).sorted().findFirst()
                .ifPresent(p -> system.add("a new kernel (" + p + ")"));
        List<String> bus = new ArrayList<>(); // after PID 1's reason: the most telling reason leads the summary
        Set<String> units = new TreeSet<>();
        List<String> serviceReasons = new ArrayList<>();
        Set<String> sessions = new TreeSet<>();
        before.pathsByUnit().forEach((unit, paths) -> {
            List<String> stale = new ArrayList<>();
            for (String path : paths) {
                if (path.startsWith("/memfd:")) {
                    continue; // an executable memfd (a container runtime's copy of itself) was never a file on disk
                }
                if (RunningCode.deletedBefore(path)) {
                    stale.add(path.substring(0, path.length() - RunningCode.DELETED.length()) + " (replaced before the patch)");
                } else if (changed(before.files().get(path), now.get(path))) {
                    stale.add(path);
                }
            }
            if (stale.isEmpty()) {
                return;
            }
            String what = stale.get(0) + (stale.size() > 1 ? " and " + (stale.size() - 1) + " more" : "");
            if (unit.equals(RunningCode.PID1_UNIT)) {
                system.add("PID 1 maps " + what);
            } else if (BUS_UNITS.contains(unit)) {
                bus.add("the system bus (" + unit + ") maps " + what);
            } else if (unit.endsWith(".service")) {
                units.add(unit);
                serviceReasons.add(unit + " maps " + what);
            } else {
                sessions.add(unit.equals("-") ? "processes outside any unit" : unit);
            }
        });
        system.addAll(bus);
        if (!system.isEmpty()) {
            List<String> reasons = new ArrayList<>(system);
            reasons.addAll(serviceReasons);
            return new RestartNeed(RestartClass.SYSTEM, List.copyOf(units), reasons, List.copyOf(sessions), null, null);
        }
        if (!units.isEmpty()) {
            return new RestartNeed(RestartClass.SERVICES, List.copyOf(units), serviceReasons, List.copyOf(sessions), null, null);
        }
        return new RestartNeed(RestartClass.NONE, List.of(), List.of(), List.copyOf(sessions), null, null);
    }

    /**
     * The restart a merge into the running VM itself needs, from what runs there now: every file the
     * merge replaces or removes ({@code written}, guest paths) counts as changed, and nothing else (a
     * mapping of code replaced long before is not this merge's). A VM that ran for months may run what
     * its fresh-booted shadow does not (a unit the shadow did not start): this sees it.
     */
    public static RestartNeed classifyWrites(RunningCode running, java.util.Set<String> written) {
        Map<String, FileState> now = new java.util.HashMap<>();
        running.files().forEach((path, state) -> {
            if (!written.contains(path)) {
                now.put(path, state);
            }
        });
        // code replaced before (an old upgrade never restarted) is the VM's own debt, not this merge's:
        // it would keep every online merge of a long-running VM on the reboot path
        Map<String, java.util.Set<String>> mapped = new java.util.TreeMap<>();
        running.pathsByUnit().forEach((unit, paths) -> mapped.put(unit, paths.stream()
                .filter(p -> !RunningCode.deletedBefore(p)).collect(java.util.stream.Collectors.toCollection(java.util.TreeSet::new))));
        return classify(new RunningCode(mapped, running.files(), running.malformedLines()), now, List.of());
    }

    /**
     * Not the same file: gone, or another inode, size or mtime. A mapped path that could not be read
     * before (a service's private /tmp, another mount namespace) is never judged: nothing to compare.
     */
    static boolean changed(FileState before, FileState now) {
        return before != null && !before.equals(now);
    }
}
