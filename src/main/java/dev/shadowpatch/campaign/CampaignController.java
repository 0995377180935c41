package dev.shadowpatch.campaign;

import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

import java.util.List;

/**
 * {@code GET /api/campaigns}, {@code /api/campaigns/{id}} (JSON), {@code /api/campaigns/{id}.csv}
 * (or {@code ?format=csv}) and {@code /api/campaigns/{id}/report} (HTML with charts). HTTP Basic like
 * the rest of /api; the engine's authorizations decide what a caller may read.
 */
@RestController
@RequestMapping("/api/campaigns")
public class CampaignController {
    private static final MediaType CSV = new MediaType("text", "csv", java.nio.charset.StandardCharsets.UTF_8);
    private final CampaignReport report;

    public CampaignController(CampaignReport report) {
        this.report = report;
    }

    @GetMapping
    public List<CampaignReport.Listed> campaigns(@RequestParam(defaultValue = "100") int max) {
        if (max < 1 || max > 1000) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "max must be between 1 and 1000");
        }
        return report.campaigns(max);
    }

    @GetMapping("/{id}")
    public ResponseEntity<?> campaign(@PathVariable String id, @RequestParam(required = false) String format) {
        if (id.endsWith(".csv") || "csv".equals(format)) {
            return csv(id.endsWith(".csv") ? id.substring(0, id.length() - 4) : id);
        }
        return ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON).body(find(id));
    }

    private ResponseEntity<String> csv(String id) {
        return ResponseEntity.ok().contentType(CSV)
                .header("Content-Disposition", "attachment; filename=\"campaign-" + id + ".csv\"")
                .body(CampaignCsv.of(find(id)));
    }

    @GetMapping(value = "/{id}/report", produces = MediaType.TEXT_HTML_VALUE)
    public String page(@PathVariable String id) {
        return CampaignReportPage.of(find(id));
    }

    private CampaignReport.Campaign find(String id) {
        return report.campaign(id).orElseThrow(() -> new ResponseStatusException(HttpStatus.NOT_FOUND,
                "No campaign " + id + " (or you may not read it)"));
    }
}
