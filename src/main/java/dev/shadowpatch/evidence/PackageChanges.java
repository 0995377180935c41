package dev.shadowpatch.evidence;

import dev.shadowpatch.evidence.PackageChange.Kind;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What the patch changed in the packages: the shadow's dpkg database before against after, a pure
 * function. A package counts where its files are (installed, or half-way); one with only its
 * configuration files left counts as removed. Versions compare by Debian's rules, so equal versions
 * written differently ({@code 1.0} and {@code 0:1.0-0}) are no change.
 */
public final class PackageChanges {
    private PackageChanges() {}

    /** Every changed package, by name, then architecture. */
    public static List<PackageChange> between(List<InstalledPackage> before, List<InstalledPackage> after) {
        Map<String, List<InstalledPackage>> was = byName(before), is = byName(after);
        TreeSet<String> names = new TreeSet<>(was.keySet());
        names.addAll(is.keySet());
        List<PackageChange> changes = new ArrayList<>();
        for (String name : names) {
            List<InstalledPackage> old = new ArrayList<>(was.getOrDefault(name, List.of()));
            List<InstalledPackage> now = new ArrayList<>(is.getOrDefault(name, List.of()));
            for (InstalledPackage o : List.copyOf(old)) {
                Optional<InstalledPackage> same = now.stream().filter(n -> n.architecture().equals(o.architecture())).findFirst();
                if (same.isPresent()) {
                    old.remove(o);
                    now.remove(same.get());
                    sameArchitecture(o, same.get()).ifPresent(changes::add);
                }
            }
            if (old.size() == 1 && now.size() == 1) { // one package that moved, not one removed and another installed
                changes.add(change(Kind.ARCHITECTURE, old.get(0), now.get(0)));
                continue;
            }
            old.forEach(o -> changes.add(change(Kind.REMOVED, o, null)));
            now.forEach(n -> changes.add(change(Kind.INSTALLED, null, n)));
        }
        return changes;
    }

    private static Optional<PackageChange> sameArchitecture(InstalledPackage old, InstalledPackage now) {
        int c = now.parsedVersion().compareTo(old.parsedVersion());
        if (c > 0) return Optional.of(change(Kind.UPGRADED, old, now));
        if (c < 0) return Optional.of(change(Kind.DOWNGRADED, old, now));
        if (old.fullyInstalled() && !now.fullyInstalled()) return Optional.of(change(Kind.UNFINISHED, old, now));
        return Optional.empty();
    }

    private static PackageChange change(Kind kind, InstalledPackage old, InstalledPackage now) {
        InstalledPackage any = now != null ? now : old;
        String architecture = old != null && now != null && !old.architecture().equals(now.architecture())
                ? old.architecture() + " -> " + now.architecture() : any.architecture();
        return new PackageChange(any.name(), kind, old == null ? null : old.version(), now == null ? null : now.version(),
                architecture, now != null && !now.fullyInstalled() ? now.stateWords() : null, List.of(), null, null);
    }

    private static Map<String, List<InstalledPackage>> byName(List<InstalledPackage> packages) {
        Map<String, List<InstalledPackage>> byName = new TreeMap<>();
        packages.stream().filter(InstalledPackage::present).sorted(java.util.Comparator.comparing(InstalledPackage::key))
                .forEach(p -> byName.computeIfAbsent(p.name(), k -> new ArrayList<>()).add(p));
        return byName;
    }
}
