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
import java.util.EnumMap;
import java.util.Optional;

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
                out.add(new Conflict(o.path(), o.conflict(), o.policy(), o.base(), o.live(), o.shadow(), Planner.choices(o), o.note()));
        return out;
    }

    /**
     * A copy with an operator's decision for one conflict, the whole plan settled again (a decision
     * on one path can make another executable or not). Refuses a decision the conflict does not offer.
     */
    public MergePlan withResolution(String path, Decision r) {
        Map<String, Op> byPath = new TreeMap<>();
        for (Op o : ops) byPath.put(o.path(), o);
        Op target = byPath.get(path);
        if (target == null) throw new IllegalArgumentException("/" + path + " is not in the plan");
        if (target.conflict() == null) throw new IllegalArgumentException("/" + path + " is not a conflict");
        List<Decision> choices = Planner.choices(target);
        if (!choices.contains(r))
            throw new IllegalArgumentException("/" + path + " (" + target.conflict() + ") cannot be settled with " + r.word()
                    + "; choices: " + String.join(", ", choices.stream().map(Decision::word).toList()));
        Map<String, Decision> resolutions = new TreeMap<>();
        for (Op o : ops) if (o.resolution() != null) resolutions.put(o.path(), o.resolution());
        resolutions.put(path, r);
        List<PathFacts> facts = new ArrayList<>(ops.size());
        for (Op o : ops) facts.add(o.facts());
        // a clean three-way merge computed before (taken, or offered to the operator) stays the approved one
        Planner.TextMerger approvedMerges = f -> {
            Op o = byPath.get(f.path());
            if (o.mergedSha256() != null) return Optional.of(new Planner.Merged(o.mergedSha256(), o.bytes()));
            return Optional.ofNullable(o.lineMerge());
        };
        Map<String, String> notScanned = new TreeMap<>();
        for (Op o : ops) if (o.conflict() == ConflictKind.NOT_SCANNED) notScanned.put(o.path(), o.note());
        return new MergePlan(Planner.plan(facts, notScanned, p -> byPath.get(p).policy(),
                resolutions::get, approvedMerges), detect);
    }

    /** Operations per rule. */
    public Map<Rule, Long> ruleCounts() {
        Map<Rule, Long> m = new EnumMap<>(Rule.class);
        for (Op o : ops) m.merge(o.rule(), 1L, Long::sum);
        return m;
    }

    /** Operations per rule, keyed by the rules' display words (for reports and process variables). */
    public Map<String, Long> ruleCountWords() {
        return Rule.words(ruleCounts());
    }

    public long count(Rule r) {
        return ruleCounts().getOrDefault(r, 0L);
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
            if (j.ops() != null)
                for (Op o : j.ops()) {
                    RelPath.requireSafe(o.path());
                    if (o.facts() == null || !o.path().equals(o.facts().path()))
                        throw new IllegalArgumentException("plan operation without its facts: /" + o.path());
                }
            return new MergePlan(j.ops() == null ? List.of() : j.ops(), j.detect());
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not a merge plan: " + e.getOriginalMessage(), e);
        }
    }
}
