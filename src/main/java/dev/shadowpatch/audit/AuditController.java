package dev.shadowpatch.audit;

import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

import java.util.List;

/**
 * {@code GET /api/runs[?liveVm=...]} and {@code GET /api/runs/{id}}: the audit record of patch runs,
 * as JSON. HTTP Basic like {@code /engine-rest}; what a caller may read is the engine's decision.
 */
@RestController
@RequestMapping("/api/runs")
public class AuditController {
    private final RunAudit audit;

    public AuditController(RunAudit audit) {
        this.audit = audit;
    }

    @GetMapping
    public List<RunAudit.RunRecord> runs(@RequestParam(required = false) String liveVm,
                                         @RequestParam(defaultValue = "100") int max) {
        if (max < 1 || max > 1000) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "max must be between 1 and 1000");
        }
        return audit.runs(liveVm, max);
    }

    @GetMapping("/{runId}")
    public RunAudit.RunRecord run(@PathVariable String runId) {
        return audit.run(runId).orElseThrow(() -> new ResponseStatusException(HttpStatus.NOT_FOUND,
                "No shadow-patching run " + runId + " (or you may not read it)"));
    }
}
