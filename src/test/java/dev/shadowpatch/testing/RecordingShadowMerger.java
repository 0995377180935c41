package dev.shadowpatch.testing;

import dev.shadowpatch.disk.GuestLayout;
import dev.shadowpatch.virt.ShadowClone;
import dev.shadowpatch.workflow.ShadowMerger;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Test double of {@link ShadowMerger}: a plan without conflicts and a merge that succeeds, recorded. */
public class RecordingShadowMerger implements ShadowMerger {
    private final String node;
    private final CapabilityLog log;
    private volatile Duration mergeTakes = Duration.ZERO;
    private volatile Duration planTakes = Duration.ZERO;

    public RecordingShadowMerger(String node, CapabilityLog log) {
        this.node = node;
        this.log = log;
    }

    /** Every merge from now on takes this long (a large patch). */
    public RecordingShadowMerger mergeTakes(Duration duration) {
        this.mergeTakes = duration;
        return this;
    }

    /** Every plan from now on takes this long (a release upgrade's tree, before the window). */
    public RecordingShadowMerger planTakes(Duration duration) {
        this.planTakes = duration;
        return this;
    }

    @Override
    public PlanResult plan(ShadowClone clone, GuestLayout layout) {
        log.record(node, "merger.plan", clone.liveVm());
        sleep(planTakes);
        return new PlanResult("{\"plan\":[]}".getBytes(StandardCharsets.UTF_8),
                Map.of("take-shadow-replace (rule 3)", 7L), 1_000_000L, 12, List.of(), List.of());
    }

    @Override
    public PlanResult resolve(byte[] planJson, Map<String, String> resolutions, String fallback) {
        log.record(node, "merger.resolve", resolutions.toString());
        return new PlanResult(planJson, Map.of("take-shadow-replace (rule 3)", 7L), 1_000_000L, 12, List.of(), List.of());
    }

    @Override
    public MergeResult merge(ShadowClone clone, GuestLayout layout, byte[] approvedPlanJson, Instant deadline) {
        log.record(node, "merger.merge", clone.liveVm());
        sleep(mergeTakes); // a large patch
        return new MergeResult("{\"merged\":7}".getBytes(StandardCharsets.UTF_8),
                Map.of("take-shadow-replace (rule 3)", 7L), 1_000_000L, Duration.ofMillis(5));
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
