package dev.shadowpatch.campaign;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.camunda.bpm.engine.delegate.VariableScope;
import org.camunda.bpm.engine.variable.Variables;
import org.camunda.bpm.engine.variable.value.FileValue;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * What a campaign will do, decided once at its start: every selected VM in start order (canaries
 * first) with its host, group and window, and why it is skipped if it is; plus the limits as
 * requested. Kept as a JSON file variable: it is read by every slot decision and by the report.
 */
public record CampaignPlan(String name, List<Entry> vms, String maxConcurrency, String maxPerHost, String maxFailures) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One VM of the campaign; {@code skipped} is the reason it will not run, or null; {@code address}
     * the inventory's address of the VM, or null (plans written before it had none).
     */
    public record Entry(String vm, String host, String group, String window, boolean canary, String skipped, String address) {
        public Entry(String vm, String host, String group, String window, boolean canary, String skipped) {
            this(vm, host, group, window, canary, skipped, null);
        }

        Entry skip(String reason) {
            return new Entry(vm, host, group, window, canary, reason, address);
        }
    }

    public int indexOf(String vm) {
        for (int i = 0; i < vms.size(); i++) {
            if (vms.get(i).vm().equals(vm)) {
                return i;
            }
        }
        throw new IllegalArgumentException("VM '" + vm + "' is not part of campaign '" + name + "'");
    }

    public List<Entry> runnable() {
        return vms.stream().filter(e -> e.skipped() == null).toList();
    }

    public List<String> runnableNames(boolean canary) {
        return runnable().stream().filter(e -> e.canary() == canary).map(Entry::vm).toList();
    }

    public int concurrency() {
        return Limit.parse(CampaignVariables.MAX_CONCURRENCY, maxConcurrency, "10").of(runnable().size());
    }

    public int failureLimit() {
        return Limit.parse(CampaignVariables.MAX_FAILURES, maxFailures, "1").of(runnable().size());
    }

    /** Per host: the limit of VMs in flight there (a percentage counts that host's runnable VMs). */
    public Map<String, Integer> perHostLimits() {
        Limit limit = Limit.parse(CampaignVariables.MAX_PER_HOST, maxPerHost, "100%");
        return runnable().stream().collect(Collectors.groupingBy(Entry::host, Collectors.counting()))
                .entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey, e -> limit.of(e.getValue().intValue())));
    }

    public CampaignPlan withEntries(Function<Entry, Entry> change) {
        List<Entry> changed = new ArrayList<>(vms.size());
        vms.forEach(e -> changed.add(change.apply(e)));
        return new CampaignPlan(name, changed, maxConcurrency, maxPerHost, maxFailures);
    }

    public void write(VariableScope campaign) {
        campaign.setVariable(CampaignVariables.PLAN, Variables.fileValue("campaign-plan.json").file(toJson())
                .mimeType("application/json").encoding(StandardCharsets.UTF_8).create());
    }

    public byte[] toJson() {
        try {
            return JSON.writeValueAsBytes(this);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static CampaignPlan read(VariableScope campaign) {
        FileValue file = campaign.getVariableTyped(CampaignVariables.PLAN);
        if (file == null) {
            throw new IllegalStateException("This campaign has no plan (variable '" + CampaignVariables.PLAN + "')");
        }
        try (InputStream in = file.getValue()) {
            return fromJson(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static CampaignPlan fromJson(byte[] json) {
        try {
            return JSON.readValue(json, CampaignPlan.class);
        } catch (IOException e) {
            throw new IllegalStateException("Not a campaign plan: " + e.getMessage(), e);
        }
    }
}
