package dev.shadowpatch.campaign;

import dev.shadowpatch.workflow.ProcessVariables;
import org.camunda.bpm.engine.delegate.VariableScope;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Turns a campaign request (start form, REST or the scheduled campaign's configuration) into its
 * {@link CampaignPlan}, against the inventory. Anything malformed fails the start with what to fix:
 * an operator should hear about a typo at once, not find a half-started campaign.
 */
public final class CampaignRequest {
    private CampaignRequest() {}

    public static CampaignPlan plan(VariableScope request, Inventory inventory) {
        List<String> problems = new ArrayList<>();
        String name = text(request, CampaignVariables.NAME);
        if (name == null) {
            problems.add("'" + CampaignVariables.NAME + "' is required");
        }
        for (String required : List.of(ProcessVariables.PATCH_COMMAND, ProcessVariables.TEST_COMMAND)) {
            if (text(request, required) == null) {
                problems.add("'" + required + "' is required");
            }
        }
        Set<String> selected = new LinkedHashSet<>();
        for (String group : names(request, CampaignVariables.GROUPS)) {
            if (inventory.group(group).isEmpty()) {
                problems.add("group '" + group + "' is not in the inventory " + inventory.source());
            } else {
                inventory.vmsIn(group).forEach(vm -> selected.add(vm.name()));
            }
        }
        for (String vm : names(request, CampaignVariables.VMS)) {
            if (inventory.vm(vm).isEmpty()) {
                problems.add("VM '" + vm + "' is not in the inventory " + inventory.source());
            } else {
                selected.add(vm);
            }
        }
        if (selected.isEmpty() && problems.isEmpty()) {
            problems.add("no VM selected: give '" + CampaignVariables.VMS + "' and/or '" + CampaignVariables.GROUPS + "'");
        }
        Set<String> canaries = new LinkedHashSet<>();
        String canaryGroup = text(request, CampaignVariables.CANARY_GROUP);
        if (canaryGroup != null) {
            if (inventory.group(canaryGroup).isEmpty()) {
                problems.add("canary group '" + canaryGroup + "' is not in the inventory");
            } else {
                inventory.vmsIn(canaryGroup).stream().map(Inventory.Vm::name).filter(selected::contains).forEach(canaries::add);
                if (canaries.isEmpty()) {
                    problems.add("canary group '" + canaryGroup + "' has no VM among the selected ones");
                }
            }
        }
        for (String vm : names(request, CampaignVariables.CANARY_VMS)) {
            if (!selected.contains(vm)) {
                problems.add("canary VM '" + vm + "' is not among the selected VMs");
            }
            canaries.add(vm);
        }
        String concurrency = limit(request, CampaignVariables.MAX_CONCURRENCY, "10", problems);
        String perHost = limit(request, CampaignVariables.MAX_PER_HOST, "100%", problems);
        String failures = limit(request, CampaignVariables.MAX_FAILURES, "1", problems);
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("The campaign request has " + problems.size() + " problem(s): "
                    + String.join("; ", problems));
        }
        List<CampaignPlan.Entry> order = new ArrayList<>();
        canaries.forEach(vm -> order.add(entry(inventory, vm, true)));
        selected.stream().filter(vm -> !canaries.contains(vm)).forEach(vm -> order.add(entry(inventory, vm, false)));
        return new CampaignPlan(name, order, concurrency, perHost, failures);
    }

    private static CampaignPlan.Entry entry(Inventory inventory, String name, boolean canary) {
        Inventory.Vm vm = inventory.vm(name).orElseThrow();
        return new CampaignPlan.Entry(vm.name(), vm.host(), vm.group(), inventory.windowOf(vm), canary, null, vm.address());
    }

    private static String limit(VariableScope request, String field, String fallback, List<String> problems) {
        String raw = text(request, field);
        try {
            return Limit.parse(field, raw, fallback).toString();
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
            return fallback;
        }
    }

    private static String text(VariableScope request, String name) {
        Object value = request.getVariable(name);
        return value == null || value.toString().isBlank() ? null : value.toString().trim();
    }

    /** Names separated by commas, spaces or new lines. */
    static List<String> names(VariableScope request, String name) {
        String value = text(request, name);
        return value == null ? List.of() : Arrays.stream(value.split("[,\\s]+")).filter(s -> !s.isBlank()).distinct().toList();
    }
}
