package dev.shadowpatch.campaign;

import dev.shadowpatch.workflow.RunOutcome;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.shadowpatch.campaign.SlotLedger.Decision.START;
import static dev.shadowpatch.campaign.SlotLedger.Decision.STOP;
import static dev.shadowpatch.campaign.SlotLedger.Decision.WAIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The slot allocator's rules on their own: order, overall and per-host limits, the failure threshold. */
class SlotLedgerTest {

    static CampaignPlan plan(String concurrency, String perHost, String failures, String... vmAtHost) {
        List<CampaignPlan.Entry> entries = java.util.Arrays.stream(vmAtHost).map(s -> s.split("@"))
                .map(p -> new CampaignPlan.Entry(p[0], p[1], "g", "default", false, null)).toList();
        return new CampaignPlan("t", entries, concurrency, perHost, failures);
    }

    @Test
    void grantsInOrderPassingOverAFullHost() {
        SlotLedger ledger = SlotLedger.start(plan("2", "1", "5", "a1@A", "a2@A", "b1@B", "b2@B"));
        assertThat(ledger.request("a1")).isEqualTo(START);
        assertThat(ledger.request("a2")).as("host A full").isEqualTo(WAIT);
        assertThat(ledger.request("b1")).isEqualTo(START);
        assertThat(ledger.request("b2")).as("overall full").isEqualTo(WAIT);

        assertThat(ledger.release("b1", RunOutcome.PATCHED)).as("B's slot goes to the next VM whose host has room")
                .containsExactly(new SlotLedger.Grant("b2", START));
        assertThat(ledger.release("a1", RunOutcome.PATCHED)).containsExactly(new SlotLedger.Grant("a2", START));
        assertThat(ledger.peak()).isEqualTo(2);
        assertThat(ledger.peakPerHost()).containsEntry("A", 1).containsEntry("B", 1);
    }

    @Test
    void reachingTheFailureLimitStopsEveryWaitingAndLaterVm() {
        SlotLedger ledger = SlotLedger.start(plan("1", "100%", "1", "v1@A", "v2@A", "v3@B"));
        assertThat(ledger.request("v1")).isEqualTo(START);
        assertThat(ledger.request("v2")).isEqualTo(WAIT);
        assertThat(ledger.release("v1", RunOutcome.ROLLED_BACK)).containsExactly(new SlotLedger.Grant("v2", STOP));
        assertThat(ledger.request("v3")).isEqualTo(STOP);
        assertThat(ledger.failures()).isEqualTo(1);
        assertThat(ledger.thresholdReached()).isTrue();
    }

    @Test
    void aRejectionIsNotAFailure() {
        SlotLedger ledger = SlotLedger.start(plan("1", "1", "1", "v1@A", "v2@A"));
        ledger.request("v1");
        ledger.request("v2");
        assertThat(ledger.release("v1", RunOutcome.REJECTED)).containsExactly(new SlotLedger.Grant("v2", START));
        assertThat(ledger.failures()).isZero();
    }

    @Test
    void percentagesRoundUpAndSkippedVmsDoNotCount() {
        CampaignPlan plan = plan("10%", "50%", "34%", "v1@A", "v2@A", "v3@A", "v4@B").withEntries(
                e -> e.vm().equals("v4") ? e.skip("not running on host B") : e);
        assertThat(plan.concurrency()).as("10% of 3 runnable VMs").isEqualTo(1);
        assertThat(plan.perHostLimits()).containsExactly(java.util.Map.entry("A", 2));
        assertThat(plan.failureLimit()).as("34% of 3, rounded up").isEqualTo(2);
        assertThat(SlotLedger.start(plan).stateOf("v4")).isEqualTo(SlotLedger.SKIPPED);
    }

    @Test
    void aSlotIsReleasedOnlyByItsHolder() {
        SlotLedger ledger = SlotLedger.start(plan("1", "1", "1", "v1@A", "v2@A"));
        ledger.request("v1");
        ledger.request("v2");
        assertThatThrownBy(() -> ledger.release("v2", RunOutcome.PATCHED)).hasMessageContaining("does not hold");
    }
}
