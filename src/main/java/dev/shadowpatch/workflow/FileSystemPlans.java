package dev.shadowpatch.workflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shadowpatch.disk.GuestLayout;
import dev.shadowpatch.merge.Conflict;
import dev.shadowpatch.merge.Decision;
import dev.shadowpatch.merge.MergePlan;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The merge plan of a whole VM: one {@link MergePlan} per file system of its layout, keyed by the
 * guest mount point, each relative to its own file system. Operators and approvers see guest paths
 * ({@code /boot/grub/grub.cfg}); this maps them to the file system and path the engine works on.
 * The JSON of a VM with one file system (and of runs before layouts) is the bare plan.
 */
public final class FileSystemPlans {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A conflict with its guest path. */
    public record GuestConflict(String mountPoint, String guestPath, Conflict conflict) {
        public String describe() {
            String line = conflict.describe();
            return mountPoint.equals("/") ? line : guestPath + line.substring(1 + conflict.path().length());
        }
    }

    private final LinkedHashMap<String, MergePlan> plans;

    public FileSystemPlans(Map<String, MergePlan> byMountPoint) {
        this.plans = new LinkedHashMap<>(new TreeMap<>(byMountPoint));
    }

    /** Whether the part for this mount point has any operation (a disk it lies on needs a merge overlay). */
    public boolean writes(String mountPoint) {
        MergePlan plan = byMountPoint().get(mountPoint);
        return plan != null && plan.size() > 0;
    }

    public Map<String, MergePlan> byMountPoint() {
        return java.util.Collections.unmodifiableMap(plans);
    }

    public static FileSystemPlans fromJson(String json) {
        try {
            JsonNode node = JSON.readTree(json);
            Map<String, MergePlan> plans = new LinkedHashMap<>();
            if (node.has("fileSystems")) {
                for (JsonNode fs : node.get("fileSystems")) {
                    plans.put(fs.get("mountPoint").asText(), MergePlan.fromJson(fs.get("plan").toString()));
                }
            } else {
                plans.put("/", MergePlan.fromJson(json));
            }
            return new FileSystemPlans(plans);
        } catch (IOException e) {
            throw new UncheckedIOException("not a merge plan: " + e.getMessage(), e);
        }
    }

    public String toJson() {
        if (plans.size() == 1 && plans.containsKey("/")) {
            return plans.get("/").toJson();
        }
        try {
            ObjectNode root = JSON.createObjectNode();
            ArrayNode list = root.putArray("fileSystems");
            for (var e : plans.entrySet()) {
                list.addObject().put("mountPoint", e.getKey()).set("plan", JSON.readTree(e.getValue().toJson()));
            }
            return JSON.writeValueAsString(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The file system (mount point) a guest path is on: the longest mount point that is its prefix. */
    public String mountPointOf(String guestPath) {
        String best = "/";
        for (String mp : plans.keySet()) {
            if (!mp.equals("/") && (guestPath.equals(mp) || guestPath.startsWith(mp + "/")) && mp.length() > best.length()) {
                best = mp;
            }
        }
        return best;
    }

    /** The path within its file system (encoded, relative) of a guest path. */
    public String relative(String guestPath) {
        return GuestLayout.relative(guestPath, mountPointOf(guestPath));
    }

    public List<GuestConflict> unresolvedConflicts() {
        List<GuestConflict> out = new ArrayList<>();
        plans.forEach((mp, plan) -> plan.unresolvedConflicts().forEach(c ->
                out.add(new GuestConflict(mp, GuestLayout.absolute(mp, c.path()), c))));
        return out;
    }

    public FileSystemPlans withResolution(String guestPath, Decision decision) {
        String mp = mountPointOf(guestPath);
        LinkedHashMap<String, MergePlan> next = new LinkedHashMap<>(plans);
        try {
            next.put(mp, plans.get(mp).withResolution(relative(guestPath), decision));
        } catch (IllegalArgumentException e) { // its message names the path within the file system: name the guest's
            String rel = relative(guestPath);
            throw new IllegalArgumentException(mp.equals("/") ? e.getMessage() : e.getMessage().replace("/" + rel, guestPath), e);
        }
        return new FileSystemPlans(next);
    }

    /** Whether a guest path is still an operation waiting for a decision. */
    public boolean asks(String guestPath) {
        MergePlan plan = plans.get(mountPointOf(guestPath));
        var op = plan == null ? null : plan.op(relative(guestPath));
        return op != null && op.action() == dev.shadowpatch.merge.Op.Action.ASK;
    }

    public Map<String, Long> ruleCountWords() {
        Map<String, Long> sum = new LinkedHashMap<>();
        plans.values().forEach(p -> p.ruleCountWords().forEach((k, v) -> sum.merge(k, v, Long::sum)));
        return sum;
    }

    public long bytesToCopy() {
        return plans.values().stream().mapToLong(MergePlan::bytesToCopy).sum();
    }

    public int size() {
        return plans.values().stream().mapToInt(MergePlan::size).sum();
    }
}
