package dev.shadowpatch.merge;

import com.fasterxml.jackson.core.JsonProcessingException;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.EnumMap;

/**
 * What a merge did: operations per rule (as the paper's Table IV), bytes copied, paths scanned,
 * the time of each stage, and the operations that were left undone (empty when merged);
 * alreadyDone: operations that found the live entry already as planned (a re-run); resumedDone:
 * operations an interrupted run had completed (its journal), skipped.
 */
public record MergeReport(Map<Rule, Long> ruleCounts, long bytesCopied, long pathsScanned,
                          Map<String, Duration> stageTimes, Map<String, String> left, List<String> alreadyDone,
                          long resumedDone, DetectInfo detect) {
    public MergeReport {
        ruleCounts = ruleCounts.isEmpty() ? new EnumMap<>(Rule.class) : new EnumMap<>(ruleCounts);
        stageTimes = new LinkedHashMap<>(stageTimes);
        left = new LinkedHashMap<>(left);
        alreadyDone = List.copyOf(alreadyDone);
    }

    public boolean complete() { return left.isEmpty(); }

    /** Operations per rule, keyed by the rules' display words. */
    public Map<String, Long> ruleCountWords() { return Rule.words(ruleCounts); }

    public long count(Rule r) { return ruleCounts.getOrDefault(r, 0L); }

    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("complete", complete());
        m.put("ruleCounts", ruleCountWords());
        m.put("bytesCopied", bytesCopied);
        m.put("pathsScanned", pathsScanned);
        Map<String, Double> t = new LinkedHashMap<>();
        stageTimes.forEach((k, v) -> t.put(k + "Seconds", v.toNanos() / 1e9));
        m.put("stageTimes", t);
        m.put("left", left);
        m.put("alreadyDone", alreadyDone);
        m.put("resumedDone", resumedDone);
        m.put("detect", detect);
        try {
            return MergePlan.JSON.writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
