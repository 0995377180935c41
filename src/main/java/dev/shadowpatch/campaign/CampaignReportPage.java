package dev.shadowpatch.campaign;

/** The report as one self-contained HTML page: summary, the two charts (inline SVG), the VM table. */
final class CampaignReportPage {
    private CampaignReportPage() {}

    static String of(CampaignReport.Campaign c) {
        StringBuilder html = new StringBuilder("""
                <!DOCTYPE html>
                <html lang="en"><head><meta charset="utf-8">
                <title>Campaign %s</title>
                <style>
                body{font-family:sans-serif;margin:1.5em;color:#222} table{border-collapse:collapse;font-size:13px}
                td,th{border:1px solid #ccc;padding:3px 6px;text-align:left} th{background:#eee}
                .charts{display:flex;flex-wrap:wrap;gap:2em;margin:1em 0} dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}
                dt{font-weight:bold}
                </style></head><body>
                """.formatted(Html.escape(c.name())));
        html.append("<h1>Campaign ").append(Html.escape(c.name())).append("</h1>\n<dl>");
        item(html, "State", c.state());
        item(html, "Outcome", c.outcome());
        item(html, "Reason", c.endReason());
        item(html, "Started by", c.startedBy());
        item(html, "Started / ended", c.started() + " / " + (c.ended() == null ? "-" : c.ended()));
        item(html, "Patch command", c.patchCommand());
        item(html, "Test command", c.testCommand());
        item(html, "Decision", c.decision() == null ? "not yet" : c.decision() + (c.approvedBy() == null ? ""
                : " by " + c.approvedBy() + " at " + c.approvedAt()));
        item(html, "Limits", "max in flight " + c.maxConcurrency() + ", per host " + c.maxPerHost()
                + ", stop after " + c.maxFailures() + " failure(s)");
        item(html, "Peak in flight", c.peakInFlight() + " overall; per host " + c.peakInFlightPerHost());
        item(html, "VMs by state", c.vmsByState().toString());
        html.append("</dl>\n<div class=\"charts\">\n").append(DowntimeChart.perVm(c.vms()))
                .append(DowntimeChart.perWindow(c.vms())).append("</div>\n");
        html.append("<table id=\"vms\"><thead><tr>");
        for (String h : new String[]{"VM", "host", "group", "window", "canary", "state", "reason", "patch exit / tests", "approved by",
                "conflicts", "rule counts", "predicted downtime (s)", "downtime (s)"}) {
            html.append("<th>").append(h).append("</th>");
        }
        html.append("</tr></thead><tbody>\n");
        for (CampaignReport.VmRow r : c.vms()) {
            html.append("<tr>");
            for (Object cell : new Object[]{r.vm(), r.host(), r.group(), r.window(), r.canary() ? "yes" : "", r.state(),
                    r.reason(), evidence(r), r.approvedBy(), r.conflicts(), CampaignCsv.rules(r.ruleCounts()),
                    r.predictedDowntimeSeconds(), r.downtimeSeconds() == null ? null : String.format("%.1f", r.downtimeSeconds())}) {
                html.append("<td>").append(Html.escape(cell)).append("</td>");
            }
            html.append("</tr>\n");
        }
        String base = "/api/campaigns/" + Html.escape(c.id());
        return html.append("</tbody></table>\n<p>The same data as <a href=\"").append(base).append(".csv\">CSV</a> and <a href=\"")
                .append(base).append("\">JSON</a>.</p>\n</body></html>\n").toString();
    }

    private static String evidence(CampaignReport.VmRow r) {
        if (r.patchExitCode() == null) {
            return null;
        }
        return r.patchExitCode() + " / " + (r.testsPassed() == null ? "not run" : r.testsPassed() ? "passed" : "failed");
    }

    private static void item(StringBuilder html, String term, Object value) {
        html.append("<dt>").append(term).append("</dt><dd>").append(value == null ? "-" : Html.escape(value)).append("</dd>");
    }
}
