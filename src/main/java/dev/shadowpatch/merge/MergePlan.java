package dev.shadowpatch.merge;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The decisions for every changed path, in path order; serialises to JSON and back losslessly. */
public final class MergePlan {
    static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private final List<Op> ops;
    private final DetectInfo detect;

    public MergePlan(List<Op> ops, DetectInfo detect) {
        List<Op> sorted = new ArrayList<>(ops);
        sorted.sort(Comparator.comparing(Op::path));
        this.ops = List.copyOf(sorted);
        this.detect = detect;
    }

    public List<Op> ops() { return ops; }
    public DetectInfo detect() { return detect; }

    public Op op(String path) {
        for (Op o : ops) if (o.path().equals(path)) return o;
        return null;
    }

    public List<Conflict> unresolvedConflicts() {
        List<Conflict> out = new ArrayList<>();
        for (Op o : ops)
            if (o.action() == Op.Action.ASK)
                out.add(new Conflict(o.path(), o.conflict(), o.policy(), o.base(), o.live(), o.shadow()));
        return out;
    }

    /** A copy with an operator's decision for one 'ask' conflict (keep-live, take-shadow, hybrid). */
    public MergePlan withResolution(String path, Resolution r) {
        List<Op> out = new ArrayList<>(ops.size());
        boolean found = false;
        for (Op o : ops) {
            if (o.path().equals(path)) {
                if (o.conflict() == null) throw new IllegalArgumentException("/" + path + " is not a conflict");
                found = true;
                out.add(Planner.decide(o.facts(), MergePolicy.Action.parse(o.policy()), r, Planner.NO_MERGE));
            } else out.add(o);
        }
        if (!found) throw new IllegalArgumentException("/" + path + " is not in the plan");
        return new MergePlan(out, detect);
    }

    public Map<String, Long> ruleCounts() {
        Map<String, Long> m = new TreeMap<>();
        for (Op o : ops) m.merge(o.rule(), 1L, Long::sum);
        return m;
    }

    public long bytesToCopy() {
        long n = 0;
        for (Op o : ops) n += o.bytes();
        return n;
    }

    public int size() { return ops.size(); }

    record Json(int version, DetectInfo detect, List<Op> ops) {}

    public String toJson() {
        try {
            return JSON.writeValueAsString(new Json(1, detect, ops));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static MergePlan fromJson(String json) {
        try {
            Json j = JSON.readValue(json, Json.class);
            if (j.version() != 1) throw new IllegalArgumentException("unknown plan version " + j.version());
            return new MergePlan(j.ops() == null ? List.of() : j.ops(), j.detect());
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not a merge plan: " + e.getOriginalMessage(), e);
        }
    }
}
