package dev.shadowpatch.campaign;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** The report's VM rows as CSV (RFC 4180 quoting), for spreadsheets and audit archives. */
final class CampaignCsv {
    private static final List<String> HEADER = List.of("vm", "host", "group", "window", "canary", "state", "reason",
            "approvedBy", "approvedAt", "conflicts", "ruleCounts", "predictedDowntimeSeconds", "downtimeSeconds",
            "windowOpensAt", "patchExitCode", "testsPassed", "runId");

    private CampaignCsv() {}

    static String of(CampaignReport.Campaign campaign) {
        StringBuilder csv = new StringBuilder(String.join(",", HEADER)).append("\r\n");
        for (CampaignReport.VmRow r : campaign.vms()) {
            List<Object> cells = List.of(r.vm(), r.host(), r.group(), r.window(), r.canary(), r.state(), nz(r.reason()),
                    nz(r.approvedBy()), r.approvedAt() == null ? "" : r.approvedAt().toInstant(), nz(r.conflicts()),
                    rules(r.ruleCounts()), nz(r.predictedDowntimeSeconds()), nz(r.downtimeSeconds()),
                    r.windowOpensAt() == null ? "" : r.windowOpensAt().toInstant(), nz(r.patchExitCode()),
                    nz(r.testsPassed()), nz(r.runId()));
            csv.append(cells.stream().map(c -> quote(c.toString())).collect(Collectors.joining(","))).append("\r\n");
        }
        return csv.toString();
    }

    private static Object nz(Object value) {
        return value == null ? "" : value;
    }

    static String rules(Map<String, Long> counts) {
        return counts.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining("; "));
    }

    private static String quote(String cell) {
        // a leading = + - @ would be a formula in a spreadsheet: VM names and reasons come from guests and operators
        String safe = !cell.isEmpty() && "=+-@".indexOf(cell.charAt(0)) >= 0 ? "'" + cell : cell;
        return safe.matches(".*[\",\r\n].*") || !safe.equals(cell) ? "\"" + safe.replace("\"", "\"\"") + "\"" : safe;
    }
}
