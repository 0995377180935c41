package dev.shadowpatch.workflow;

import dev.shadowpatch.workflow.DowntimeForecast.Forecast;
import dev.shadowpatch.workflow.DowntimeForecast.PastRun;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

/** The downtime prediction's cases: where each part comes from. */
class DowntimeForecastTest {
    /** The defaults: shutdown-grace 60 s (a sixth: 10 s), expected boot 40 s, 50 MiB/s. */
    static final RunSettings SETTINGS = new RunSettings(null, null, null, null, null, null, 0, null, null, null, null, null);
    static final long MB = 1024 * 1024;
    static final Instant T0 = Instant.parse("2026-11-01T02:00:00Z");

    static PastRun run(String vm, String outcome, int day, Double shutdown, Double merge, Double boot) {
        return new PastRun("run-" + vm + "-" + day, vm, outcome, T0.plus(Duration.ofDays(day)), shutdown, merge, boot, null, null);
    }

    /** The parts in order: each (part, seconds, basis). */
    static void assertParts(Forecast f, org.assertj.core.groups.Tuple... expected) {
        assertThat(f.parts()).extracting(p -> tuple(p.part(), p.seconds(), p.basis())).containsExactly(expected);
    }

    static PastRun patched(int day, double shutdown, double merge, double boot) {
        return run("web-01", "patched", day, shutdown, merge, boot);
    }

    @Test
    void aVmWithoutHistoryNorMeasuredBootGetsTheDefaultsAndThePlansMerge() {
        Forecast f = DowntimeForecast.of("web-01", List.of(), null, 100 * MB, 2000, SETTINGS);
        assertParts(f,
                tuple("shutdown", 10.0, "default"), tuple("merge", 2.0 + 2.0, "plan"), tuple("boot", 40.0, "default"));
        assertThat(f.totalSeconds()).isEqualTo(54);
        assertThat(f.summary()).isEqualTo("shutdown 10 s (default: a sixth of shutdown-grace 60 s),"
                + " merge 4.0 s (plan: 100 MB, 2,000 operations), boot 40 s (default: expected-boot 40 s)");
    }

    @Test
    void withoutHistoryTheBootIsTheShadowsMeasuredBoot() {
        Forecast f = DowntimeForecast.of("web-01", List.of(), 31.2, 118 * MB + 300_000, 1969, SETTINGS);
        assertThat(f.parts().get(2)).satisfies(p -> {
            assertThat(p.seconds()).isEqualTo(31.2);
            assertThat(p.basis()).isEqualTo("shadow");
        });
        assertThat(f.summary()).isEqualTo("shutdown 10 s (default: a sixth of shutdown-grace 60 s),"
                + " merge 4.3 s (plan: 118 MB, 1,969 operations), boot 31 s (the shadow's boot to its address)");
        assertThat(f.totalSeconds()).as("10 + 4.33 + 31.2 rounded up").isEqualTo(46);
    }

    @Test
    void aPartWithHistoryComesFromTheMedianOfTheVmsRunsThatMeasuredItTheOthersFromTheRest() {
        List<PastRun> history = List.of(
                run("web-01", "patched", 1, 5.0, 3.0, null),
                run("web-01", "patched", 2, 9.0, 3.0, null),
                run("web-01", "patched", 3, 7.0, 3.0, null)); // no verified service recorded: no boot measured
        Forecast f = DowntimeForecast.of("web-01", history, 31.0, 0, 0, SETTINGS);
        assertParts(f,
                tuple("shutdown", 7.0, "history"), tuple("merge", 0.0, "plan"), tuple("boot", 31.0, "shadow"));
        assertThat(f.summary()).startsWith("shutdown 7.0 s (median of 3 earlier runs of web-01), merge 0.0 s (plan: 0 bytes, 0 operations),");
        // merges of plans of unknown size (runs from before it was kept) do not correct the plan's estimate
    }

    @Test
    void rolledBackAndUnfinishedRunsAreNotHistory() {
        List<PastRun> history = List.of(
                patched(1, 6.0, 2.0, 20.0),
                run("web-01", "rolled back", 2, 60.0, 100.0, 300.0),
                run("web-01", "rolled back", 3, 60.0, 100.0, 300.0),
                run("web-01", null, 4, 60.0, 100.0, 300.0),
                run("web-01", "rejected", 5, 60.0, 100.0, 300.0));
        Forecast f = DowntimeForecast.of("web-01", history, 31.0, 0, 0, SETTINGS);
        assertParts(f,
                tuple("shutdown", 6.0, "history"), tuple("merge", 0.0, "plan"), tuple("boot", 20.0, "history"));
        assertThat(f.summary()).contains("shutdown 6.0 s (median of 1 earlier run of web-01)");
    }

    @Test
    void anotherVmsRunsAreNotMixedIn() {
        List<PastRun> history = List.of(
                run("web-02", "patched", 1, 50.0, 50.0, 90.0),
                run("web-010", "patched", 2, 50.0, 50.0, 90.0),
                run("WEB-01", "patched", 3, 50.0, 50.0, 90.0),
                patched(4, 4.0, 1.0, 25.0),
                patched(5, 8.0, 1.0, 35.0));
        Forecast f = DowntimeForecast.of("web-01", history, 99.0, 0, 0, SETTINGS);
        assertParts(f,
                tuple("shutdown", 6.0, "history"), tuple("merge", 0.0, "plan"), tuple("boot", 30.0, "history"));
        assertThat(f.summary()).contains("median of 2 earlier runs of web-01");
        assertThat(DowntimeForecast.of("web-03", history, 99.0, 0, 0, SETTINGS).parts())
                .extracting(DowntimeForecast.Part::basis).containsExactly("default", "plan", "shadow");
    }

    @Test
    void onlyTheLatestFiveRunsCountWhateverOrderTheyCameIn() {
        List<PastRun> history = new ArrayList<>();
        for (int day = 1; day <= 7; day++) {
            history.add(day <= 2 ? patched(day, 500.0, 0.0, 500.0) : patched(day, day, 0.0, 10.0 * day));
        }
        java.util.Collections.reverse(history);
        Forecast f = DowntimeForecast.of("web-01", history, null, 0, 0, SETTINGS);
        // days 3..7: shutdown 3,4,5,6,7 -> 5; boot 30..70 -> 50; the old outliers of days 1 and 2 are out
        assertParts(f,
                tuple("shutdown", 5.0, "history"), tuple("merge", 0.0, "plan"), tuple("boot", 50.0, "history"));
        assertThat(f.summary()).contains("median of 5 earlier runs of web-01");
    }

    @Test
    void theMergeIsThePlansEstimateRaisedByWhatTheVmsEarlierMergesTookBeyondTheirPlans() {
        // earlier plans of 50 MB (1 s) and 1000 ops (1 s): 2 s estimated; they took 7, 9 and 8 s -> 6 s beyond, median
        List<PastRun> history = List.of(
                new PastRun("a", "web-01", "patched", T0.plusSeconds(1), 5.0, 7.0, 30.0, 50 * MB, 1000),
                new PastRun("b", "web-01", "patched", T0.plusSeconds(2), 5.0, 9.0, 30.0, 50 * MB, 1000),
                new PastRun("c", "web-01", "patched", T0.plusSeconds(3), 5.0, 8.0, 30.0, 50 * MB, 1000));
        Forecast f = DowntimeForecast.of("web-01", history, null, 500 * MB, 0, SETTINGS);
        assertThat(f.parts().get(1)).satisfies(p -> {
            assertThat(p.seconds()).isEqualTo(10.0 + 6.0);
            assertThat(p.basis()).isEqualTo("history");
            assertThat(p.source()).isEqualTo("plan: 500 MB, 0 operations: 10 s, plus 6.0 s web-01's earlier merges took beyond their plans (median of 3 earlier runs)");
        });
        assertThat(f.totalSeconds()).isEqualTo(5 + 16 + 30);

        // merges faster than their plans never make a plan cheaper than its estimate
        List<PastRun> fast = List.of(new PastRun("d", "web-01", "patched", T0, 5.0, 0.5, 30.0, 50 * MB, 1000));
        assertThat(DowntimeForecast.of("web-01", fast, null, 500 * MB, 0, SETTINGS).parts().get(1)).satisfies(p -> {
            assertThat(p.seconds()).isEqualTo(10.0);
            assertThat(p.basis()).isEqualTo("plan");
            assertThat(p.source()).isEqualTo("plan: 500 MB, 0 operations; web-01's earlier merges took no longer than their plans (median of 1 earlier run)");
        });
    }

    @Test
    void theForecastTravelsAsJson() {
        Forecast f = DowntimeForecast.of("web-01", List.of(patched(1, 6.0, 2.0, 20.0)), 31.0, 3 * MB, 12, SETTINGS);
        Forecast back = Forecast.fromJson(f.toJson());
        assertThat(back).isEqualTo(f);
        assertThat(f.toJson()).contains("\"totalSeconds\":").contains("\"basis\":\"history\"").contains("\"summary\":\"shutdown 6.0 s");
    }
}
