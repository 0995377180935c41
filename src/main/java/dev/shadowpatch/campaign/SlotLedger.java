package dev.shadowpatch.campaign;

import dev.shadowpatch.workflow.RunOutcome;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.camunda.bpm.engine.delegate.VariableScope;
import org.camunda.bpm.engine.variable.Variables;
import org.camunda.bpm.engine.variable.value.BytesValue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The campaign's slot allocator: one state letter per VM of the plan, in start order. It is the only
 * place that decides whether a VM may start, so the overall and per-host limits and the failure
 * threshold are checked in one spot. It lives in one variable of the campaign instance: every change
 * is a write of that variable, so two nodes deciding at once collide on Camunda's optimistic lock and
 * one of them retries with the other's result; no grant is ever based on a stale count.
 */
public final class SlotLedger {
    public static final char PENDING = 'P';  // not asked yet (its phase has not started)
    public static final char WAITING = 'W';  // asked, waits for a slot
    public static final char RUNNING = 'R';  // holds a slot: its shadow-patching run is in flight
    public static final char PATCHED = 'D';
    public static final char FAILED = 'F';   // counts toward the failure threshold
    public static final char DECLINED = 'X'; // rejected by an operator: not a failure
    public static final char STOPPED = 'S';  // never started: failure threshold reached
    public static final char SKIPPED = 'K';  // pre-check: not running or host unreachable

    public enum Decision { START, WAIT, STOP }

    public record Grant(String vm, Decision decision) {}

    /** The stored shape; peaks are kept for the report ("the limits held"). */
    record State(String states, int peak, Map<String, Integer> peakPerHost) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    private final CampaignPlan plan;
    private final char[] states;
    private final Map<String, Integer> perHostLimit;
    private final int concurrency;
    private final int failureLimit;
    private int peak;
    private final Map<String, Integer> peakPerHost;

    private SlotLedger(CampaignPlan plan, State state) {
        this.plan = plan;
        this.states = state.states().toCharArray();
        this.perHostLimit = plan.perHostLimits();
        this.concurrency = plan.concurrency();
        this.failureLimit = plan.failureLimit();
        this.peak = state.peak();
        this.peakPerHost = new TreeMap<>(state.peakPerHost());
    }

    /** A fresh ledger: skipped VMs marked, all others pending. */
    public static SlotLedger start(CampaignPlan plan) {
        StringBuilder s = new StringBuilder();
        plan.vms().forEach(e -> s.append(e.skipped() == null ? PENDING : SKIPPED));
        return new SlotLedger(plan, new State(s.toString(), 0, Map.of()));
    }

    /** A VM's branch asks for a slot: start now, wait for a release, or never (threshold reached). */
    public Decision request(String vm) {
        int i = plan.indexOf(vm);
        if (states[i] != PENDING && states[i] != WAITING) {
            throw new IllegalStateException("VM " + vm + " asked for a slot in state " + states[i]);
        }
        if (thresholdReached()) {
            states[i] = STOPPED;
            return Decision.STOP;
        }
        if (fits(i)) {
            run(i);
            return Decision.START;
        }
        states[i] = WAITING;
        return Decision.WAIT;
    }

    /**
     * A VM's run ended with {@code outcome}: its slot is free. Returns what the waiting VMs get, in
     * start order: a slot where the limits allow, or "stop" for all of them once the threshold is reached.
     */
    public List<Grant> release(String vm, RunOutcome outcome) {
        int i = plan.indexOf(vm);
        if (states[i] != RUNNING) {
            throw new IllegalStateException("VM " + vm + " released a slot it does not hold (state " + states[i] + ")");
        }
        states[i] = outcome == RunOutcome.PATCHED ? PATCHED : outcome == RunOutcome.REJECTED ? DECLINED : FAILED;
        List<Grant> grants = new ArrayList<>();
        boolean stop = thresholdReached();
        for (int w = 0; w < states.length; w++) {
            if (states[w] != WAITING) {
                continue;
            }
            if (stop) {
                states[w] = STOPPED;
                grants.add(new Grant(plan.vms().get(w).vm(), Decision.STOP));
            } else if (fits(w)) {
                run(w);
                grants.add(new Grant(plan.vms().get(w).vm(), Decision.START));
            }
        }
        return grants;
    }

    private boolean fits(int i) {
        String host = plan.vms().get(i).host();
        return running() < concurrency && runningOn(host) < perHostLimit.getOrDefault(host, concurrency);
    }

    private void run(int i) {
        states[i] = RUNNING;
        peak = Math.max(peak, running());
        String host = plan.vms().get(i).host();
        peakPerHost.merge(host, runningOn(host), Math::max);
    }

    public int running() {
        return count(RUNNING);
    }

    public int runningOn(String host) {
        int n = 0;
        for (int i = 0; i < states.length; i++) {
            if (states[i] == RUNNING && plan.vms().get(i).host().equals(host)) {
                n++;
            }
        }
        return n;
    }

    public int failures() {
        return count(FAILED);
    }

    public boolean thresholdReached() {
        return failures() >= failureLimit;
    }

    public int failureLimit() {
        return failureLimit;
    }

    public char stateOf(String vm) {
        return states[plan.indexOf(vm)];
    }

    /** Whether every canary that could run was patched (false when there were canaries but none ran). */
    public boolean canariesPatched() {
        boolean anyCanary = false;
        for (int i = 0; i < states.length; i++) {
            CampaignPlan.Entry e = plan.vms().get(i);
            if (e.canary()) {
                anyCanary = true;
                if (e.skipped() == null && states[i] != PATCHED) {
                    return false;
                }
            }
        }
        return !anyCanary || plan.runnableNames(true).size() > 0;
    }

    public int peak() {
        return peak;
    }

    public Map<String, Integer> peakPerHost() {
        return peakPerHost;
    }

    public int count(char state) {
        int n = 0;
        for (char c : states) {
            if (c == state) {
                n++;
            }
        }
        return n;
    }

    public void write(VariableScope campaign) {
        try {
            byte[] json = JSON.writeValueAsBytes(new State(new String(states), peak, peakPerHost));
            // on the process instance: one row that every decision updates (the optimistic lock above)
            campaign.setVariable(CampaignVariables.LEDGER, Variables.byteArrayValue(json));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static SlotLedger read(VariableScope campaign, CampaignPlan plan) {
        BytesValue bytes = campaign.getVariableTyped(CampaignVariables.LEDGER);
        if (bytes == null) {
            throw new IllegalStateException("This campaign has no slot ledger yet (variable '" + CampaignVariables.LEDGER + "')");
        }
        return fromJson(plan, bytes.getValue());
    }

    public static SlotLedger fromJson(CampaignPlan plan, byte[] json) {
        try {
            return new SlotLedger(plan, JSON.readValue(json, State.class));
        } catch (IOException e) {
            throw new IllegalStateException("Not a slot ledger: " + e.getMessage(), e);
        }
    }
}
