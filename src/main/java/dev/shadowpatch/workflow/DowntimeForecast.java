package dev.shadowpatch.workflow;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Function;

/**
 * The downtime a run's window will cost, part by part: the live VM's shutdown, the merge and its boot
 * to a verified service. Each part comes from this VM's own measured history where it has one (the
 * median of its last {@value #RUNS} patched runs that measured that part), else from what this run
 * measured (the shadow's boot to its address), else from the configured defaults. The merge is
 * always the plan's own estimate (bytes to copy at {@code merge-bytes-per-second}, plus 1 ms per
 * operation), raised by the time this VM's earlier merges took beyond their plans' estimates (the
 * disks' exposure, mounts, journals): a larger plan costs more than a small one however fast the
 * last merges were. A pure function: the history is read by the caller.
 */
public final class DowntimeForecast {
    /** How many of the VM's latest patched runs a part's median is taken over. */
    public static final int RUNS = 5;
    private static final ObjectMapper JSON = new ObjectMapper();

    private DowntimeForecast() {}

    /**
     * One earlier run of some VM as its history recorded it. The parts partition its measured downtime
     * (live VM down -> service verified): shutdown up to the end of the quiesce step, merge up to the
     * end of the merge step, boot up to the verified service; null where the run did not measure it.
     * {@code planBytes}/{@code planOperations}: the size of the plan it merged, null for runs from before
     * it was kept.
     */
    public record PastRun(String runId, String liveVm, String outcome, Instant ended, Double shutdownSeconds,
                          Double mergeSeconds, Double bootSeconds, Long planBytes, Integer planOperations) {}

    /** One part of the prediction: its seconds, the kind of its source and the source in words. */
    public record Part(String part, double seconds, String basis, String source) {
        public static final String HISTORY = "history", SHADOW = "shadow", PLAN = "plan", DEFAULT = "default";

        String words() {
            return part + " " + inWords(seconds) + " (" + source + ")";
        }
    }

    /**
     * The prediction: {@code totalSeconds} is the parts' sum rounded up (the run's
     * {@code predictedDowntimeSeconds}); {@code summary} the parts in words.
     */
    public record Forecast(List<Part> parts, long totalSeconds, String summary) {
        public String toJson() {
            try {
                return JSON.writeValueAsString(this);
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }

        public static Forecast fromJson(String json) {
            try {
                return JSON.readValue(json, Forecast.class);
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException("not a downtime forecast: " + e.getOriginalMessage(), e);
            }
        }
    }

    /**
     * @param liveVm            the VM the window takes down
     * @param history           earlier runs (any VM, any outcome, any order): only this VM's patched runs count
     * @param shadowBootSeconds this run's shadow's boot to its address, or null when not measured
     * @param planBytes         bytes the plan copies
     * @param planOperations    operations of the plan
     */
    public static Forecast of(String liveVm, List<PastRun> history, Double shadowBootSeconds, long planBytes,
                              int planOperations, RunSettings settings) {
        List<PastRun> own = history.stream()
                .filter(r -> Objects.equals(r.liveVm(), liveVm) && RunOutcome.PATCHED.words.equals(r.outcome()))
                .sorted(Comparator.comparing(PastRun::ended, Comparator.nullsLast(Comparator.reverseOrder())))
                .toList();
        List<Part> parts = new ArrayList<>();
        parts.add(measured("shutdown", liveVm, own, PastRun::shutdownSeconds).orElseGet(() -> new Part("shutdown",
                settings.shutdownGrace().toMillis() / 6000.0, Part.DEFAULT,
                "default: a sixth of shutdown-grace " + settings.shutdownGrace().toSeconds() + " s")));
        parts.add(merge(liveVm, own, planBytes, planOperations, settings));
        parts.add(measured("boot", liveVm, own, PastRun::bootSeconds)
                .orElseGet(() -> shadowBootSeconds != null && shadowBootSeconds >= 0
                        ? new Part("boot", shadowBootSeconds, Part.SHADOW, "the shadow's boot to its address")
                        : new Part("boot", settings.expectedBoot().toMillis() / 1000.0, Part.DEFAULT,
                        "default: expected-boot " + settings.expectedBoot().toSeconds() + " s")));
        double sum = parts.stream().mapToDouble(Part::seconds).sum();
        return new Forecast(List.copyOf(parts), (long) Math.ceil(sum - 1e-9),
                String.join(", ", parts.stream().map(Part::words).toList()));
    }

    private static java.util.Optional<Part> measured(String part, String liveVm, List<PastRun> own,
                                                     Function<PastRun, Double> seconds) {
        List<Double> values = own.stream().map(seconds).filter(s -> s != null && s >= 0).limit(RUNS).toList();
        return values.isEmpty() ? java.util.Optional.empty() : java.util.Optional.of(new Part(part, median(values),
                Part.HISTORY, "median of " + runs(values.size()) + " of " + liveVm));
    }

    private static Part merge(String liveVm, List<PastRun> own, long planBytes, int planOperations, RunSettings settings) {
        double plan = settings.mergeSeconds(planBytes, planOperations);
        String size = "plan: " + bytes(planBytes) + ", " + String.format(Locale.ROOT, "%,d", planOperations) + " operations";
        List<Double> beyond = own.stream()
                .filter(r -> r.mergeSeconds() != null && r.mergeSeconds() >= 0 && r.planBytes() != null && r.planOperations() != null)
                .limit(RUNS)
                .map(r -> r.mergeSeconds() - settings.mergeSeconds(r.planBytes(), r.planOperations()))
                .toList();
        if (beyond.isEmpty()) {
            return new Part("merge", plan, Part.PLAN, size);
        }
        double extra = median(beyond);
        if (extra <= 0) {
            return new Part("merge", plan, Part.PLAN, size + "; " + liveVm + "'s earlier merges took no longer than"
                    + " their plans (median of " + runs(beyond.size()) + ")");
        }
        return new Part("merge", plan + extra, Part.HISTORY, size + ": " + inWords(plan) + ", plus " + inWords(extra)
                + " " + liveVm + "'s earlier merges took beyond their plans (median of " + runs(beyond.size()) + ")");
    }

    private static String runs(int n) {
        return n == 1 ? "1 earlier run" : n + " earlier runs";
    }

    static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    /** Whole seconds from 10 s on, one decimal below (a part of 0.3 s is not "0 s"). */
    static String inWords(double s) {
        return (s >= 10 ? String.valueOf(Math.round(s)) : String.format(Locale.ROOT, "%.1f", s)) + " s";
    }

    static String bytes(long b) {
        if (b < 1024 * 1024) {
            return b < 1024 ? b + " bytes" : String.format(Locale.ROOT, "%.0f KB", b / 1024.0);
        }
        double mb = b / (1024.0 * 1024);
        return mb < 10 ? String.format(Locale.ROOT, "%.1f MB", mb) : String.format(Locale.ROOT, "%,.0f MB", mb);
    }
}
