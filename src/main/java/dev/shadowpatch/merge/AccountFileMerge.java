package dev.shadowpatch.merge;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Three-way merge of the account databases record by record, keyed by name: {@code /etc/passwd},
 * {@code group}, {@code shadow}, {@code gshadow}, {@code subuid}, {@code subgid}. A patch that creates
 * a system user or group (an upgrade's new package) appends a line, and so does a live VM that gets a
 * new user after the snapshot: diff3 sees two insertions at one place and gives up, and keeping
 * either side loses the other's account (files owned by a group the live VM no longer names). Here
 * each name is merged on its own: the side that changed a record wins; both changing one record
 * differently is a conflict, as is a new record whose user or group ID another name already has
 * (two names for one ID would mix file ownership). A pure function; used where diff3 is not clean.
 */
final class AccountFileMerge {
    /** The files, relative to the root file system; for passwd and group, the ID is the third field. */
    static final Set<String> FILES = Set.of("etc/passwd", "etc/group", "etc/shadow", "etc/gshadow", "etc/subuid", "etc/subgid");
    private static final Set<String> WITH_IDS = Set.of("etc/passwd", "etc/group");

    private AccountFileMerge() {}

    static boolean applies(String rel) {
        return FILES.contains(rel);
    }

    /**
     * @return the merged file, or empty when it is a conflict or a file this does not understand (a
     * line without a name, a name twice, a NUL byte: the operator decides as before)
     */
    static Optional<byte[]> merge(String rel, byte[] base, byte[] live, byte[] shadow) {
        Optional<Map<String, String>> b = records(base), l = records(live), s = records(shadow);
        if (b.isEmpty() || l.isEmpty() || s.isEmpty()) {
            return Optional.empty();
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : l.get().entrySet()) { // the live VM's order first
            String name = e.getKey();
            Optional<String> merged = record(b.get().get(name), e.getValue(), s.get().get(name));
            if (merged == null) {
                return Optional.empty();
            }
            merged.ifPresent(line -> out.put(name, line));
        }
        for (Map.Entry<String, String> e : s.get().entrySet()) { // then what only the shadow has, in its order
            String name = e.getKey();
            if (l.get().containsKey(name)) {
                continue;
            }
            Optional<String> merged = record(b.get().get(name), null, e.getValue());
            if (merged == null) {
                return Optional.empty();
            }
            merged.ifPresent(line -> out.put(name, line));
        }
        if (WITH_IDS.contains(rel) && sharedId(out, b.get())) {
            return Optional.empty();
        }
        StringBuilder text = new StringBuilder();
        out.values().forEach(line -> text.append(line).append('\n'));
        return Optional.of(text.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** One name's record: empty when it is gone, null when both sides changed it differently. */
    private static Optional<String> record(String base, String live, String shadow) {
        if (Objects.equals(live, shadow) || Objects.equals(shadow, base)) {
            return Optional.ofNullable(live);
        }
        if (Objects.equals(live, base)) {
            return Optional.ofNullable(shadow);
        }
        return null;
    }

    /** Whether a record new since the base shares its ID with another name. */
    private static boolean sharedId(Map<String, String> merged, Map<String, String> base) {
        Map<String, List<String>> byId = new HashMap<>();
        merged.forEach((name, line) -> {
            String[] f = line.split(":", -1);
            if (f.length > 2) {
                byId.computeIfAbsent(f[2], k -> new ArrayList<>()).add(name);
            }
        });
        return byId.values().stream().anyMatch(names -> names.size() > 1 && names.stream().anyMatch(n -> !base.containsKey(n)));
    }

    /** name -> whole line, in file order; empty when a line has no name, a name comes twice, or the file is not text. */
    private static Optional<Map<String, String>> records(byte[] content) {
        String text = new String(content, StandardCharsets.UTF_8);
        if (text.indexOf('\0') >= 0 || !java.util.Arrays.equals(text.getBytes(StandardCharsets.UTF_8), content)) {
            return Optional.empty();
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0 || out.putIfAbsent(line.substring(0, colon), line) != null) {
                return Optional.empty();
            }
        }
        return Optional.of(out);
    }
}
