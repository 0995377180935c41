package dev.shadowpatch.campaign;

import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The report's charts as inline SVG, drawn on the server: no script, no CDN, so the page works
 * offline and prints. One bar per VM (measured downtime, coloured by window) and one per window
 * occurrence (total downtime of the VMs merged in it).
 */
final class DowntimeChart {
    static final String[] PALETTE = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};
    private static final DateTimeFormatter WHEN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'").withZone(ZoneOffset.UTC);
    private static final int BAR = 16;
    private static final int LABEL = 190;
    private static final int WIDTH = 640;

    private DowntimeChart() {}

    record Bar(String label, double seconds, String colour, String title) {}

    static String perVm(List<CampaignReport.VmRow> rows) {
        Map<String, String> colours = windowColours(rows);
        List<Bar> bars = rows.stream().filter(r -> r.downtimeSeconds() != null)
                .map(r -> new Bar(r.vm(), r.downtimeSeconds(), colours.get(r.window()),
                        r.vm() + " (" + r.host() + ", window " + r.window() + "): " + seconds(r.downtimeSeconds())))
                .toList();
        return svg("downtime-per-vm", "Downtime per VM (seconds)", bars);
    }

    static String perWindow(List<CampaignReport.VmRow> rows) {
        Map<String, String> colours = windowColours(rows);
        Map<String, double[]> totals = new LinkedHashMap<>();
        Map<String, String> colourOf = new LinkedHashMap<>();
        rows.stream().filter(r -> r.downtimeSeconds() != null).forEach(r -> {
            String key = r.window() + " " + (r.windowOpensAt() == null ? "" : WHEN.format(r.windowOpensAt().toInstant()));
            double[] t = totals.computeIfAbsent(key, k -> new double[2]);
            t[0] += r.downtimeSeconds();
            t[1]++;
            colourOf.put(key, colours.get(r.window()));
        });
        List<Bar> bars = totals.entrySet().stream().map(e -> new Bar(e.getKey(), e.getValue()[0], colourOf.get(e.getKey()),
                e.getKey() + ": " + (int) e.getValue()[1] + " VM(s), " + seconds(e.getValue()[0]) + " in all")).toList();
        return svg("downtime-per-window", "Downtime per window (seconds, all its VMs)", bars);
    }

    private static Map<String, String> windowColours(List<CampaignReport.VmRow> rows) {
        Map<String, String> colours = new LinkedHashMap<>();
        rows.forEach(r -> colours.computeIfAbsent(r.window(), w -> PALETTE[colours.size() % PALETTE.length]));
        return colours;
    }

    private static String svg(String id, String title, List<Bar> bars) {
        double max = bars.stream().mapToDouble(Bar::seconds).max().orElse(0);
        int height = 30 + Math.max(1, bars.size()) * (BAR + 4);
        StringBuilder svg = new StringBuilder();
        svg.append("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"").append(id).append("\" class=\"chart\" width=\"").append(WIDTH)
                .append("\" height=\"").append(height).append("\" role=\"img\" aria-label=\"").append(Html.escape(title)).append("\">\n");
        svg.append("<text x=\"0\" y=\"16\" font-size=\"14\" font-weight=\"bold\">").append(Html.escape(title)).append("</text>\n");
        if (bars.isEmpty()) {
            svg.append("<text x=\"0\" y=\"40\" font-size=\"12\">no downtime measured yet</text>\n");
        }
        int y = 26;
        for (Bar bar : bars) {
            double w = max <= 0 ? 1 : Math.max(1, (WIDTH - LABEL - 70) * bar.seconds() / max);
            svg.append("<g class=\"bar\"><title>").append(Html.escape(bar.title())).append("</title>")
                    .append("<text x=\"").append(LABEL - 6).append("\" y=\"").append(y + 12).append("\" font-size=\"11\" text-anchor=\"end\">")
                    .append(Html.escape(bar.label())).append("</text>")
                    .append("<rect x=\"").append(LABEL).append("\" y=\"").append(y).append("\" width=\"").append(String.format("%.1f", w))
                    .append("\" height=\"").append(BAR).append("\" fill=\"").append(bar.colour()).append("\"/>")
                    .append("<text x=\"").append(String.format("%.1f", LABEL + w + 4)).append("\" y=\"").append(y + 12)
                    .append("\" font-size=\"11\">").append(seconds(bar.seconds())).append("</text></g>\n");
            y += BAR + 4;
        }
        return svg.append("</svg>\n").toString();
    }

    private static String seconds(double s) {
        return String.format(s < 10 ? "%.2f s" : "%.0f s", s);
    }
}
