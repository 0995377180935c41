package dev.shadowpatch.merge;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Command line of the merge engine:
 * <pre>
 * shadowpatch merge --base DIR --live DIR --shadow DIR [--changes LOG] [--policy FILE]
 *                   [--plan-only] [--report FILE.json] [--plan-out PLAN.json] [--plan-in PLAN.json]
 *                   [--trust-log] [--resolve /PATH=keep-live|take-shadow|hybrid|three-way ...] [--journal DIR]
 * </pre>
 * A journal of the execution (default LIVE.merge-journal, beside the live tree, never in it) makes
 * a killed merge resumable: the same command run again finishes the interrupted plan.
 * Exit codes: 0 merged (or, with --plan-only, a plan without open conflicts); 3 unresolved 'ask'
 * conflicts (nothing written; each listed with its three versions and its choices); 4 merge
 * incomplete (what is left is listed, with the reason); 2 usage; 1 any other error.
 */
public final class MergeCli {
    public static final int OK = 0, ERROR = 1, USAGE = 2, CONFLICTS = 3, INCOMPLETE = 4;

    private MergeCli() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static final String USAGE_TEXT = """
            usage: shadowpatch merge --base DIR --live DIR --shadow DIR [--changes LOG] [--policy FILE]
                                     [--plan-only] [--report FILE.json] [--plan-out PLAN.json]
                                     [--plan-in PLAN.json] [--trust-log] [--resolve /PATH=ACTION ...] [--journal DIR]
              --changes LOG     the shadow's change log (inotifywait '%e %w%f' lines): a hint; the scan stays the authority
              --trust-log       with --changes: scan only the logged paths (no full scan to find what the log missed)
              --policy FILE     glob rules 'GLOB ACTION' (three-way|keep-live|take-shadow|hybrid|ask|exclude), before the defaults
              --plan-only       detect and plan, write nothing to the live tree
              --plan-out FILE   write the plan as JSON (for an operator to review and resolve)
              --plan-in FILE    execute an approved plan (re-decided against the live tree as it is now)
              --resolve /P=A    an operator's decision for the conflict at /P (A: keep-live|take-shadow|hybrid|three-way where offered); repeatable
              --report FILE     write the report (counts per rule, bytes, paths scanned, stage times) as JSON
              --journal DIR     where the execution is journaled (default: LIVE.merge-journal next to the live tree);
                                a merge killed at any point is finished by running the same command again
            exit: 0 merged, 3 unresolved conflicts (nothing written), 4 incomplete (the operations left are listed), 2 usage, 1 error
            """;

    static int run(String[] args, PrintStream out, PrintStream err) {
        Map<String, String> opt = new LinkedHashMap<>();
        List<String> flags = new ArrayList<>();
        List<String> resolves = new ArrayList<>();
        if (args.length == 0 || !args[0].equals("merge")) { err.print(USAGE_TEXT); return USAGE; }
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--plan-only", "--trust-log" -> flags.add(a);
                case "--base", "--live", "--shadow", "--changes", "--policy", "--report", "--plan-out", "--plan-in", "--journal" -> {
                    if (i + 1 >= args.length) { err.println("missing value for " + a); err.print(USAGE_TEXT); return USAGE; }
                    opt.put(a, args[++i]);
                }
                case "--resolve" -> {
                    if (i + 1 >= args.length) { err.println("missing value for --resolve"); return USAGE; }
                    resolves.add(args[++i]);
                }
                case "-h", "--help" -> { out.print(USAGE_TEXT); return OK; }
                default -> { err.println("unknown argument: " + a); err.print(USAGE_TEXT); return USAGE; }
            }
        }
        for (String req : List.of("--base", "--live", "--shadow"))
            if (!opt.containsKey(req)) { err.println("missing " + req); err.print(USAGE_TEXT); return USAGE; }
        try {
            MergePolicy policy = opt.containsKey("--policy") ? MergePolicy.parse(Path.of(opt.get("--policy"))) : MergePolicy.defaults();
            if (flags.contains("--trust-log")) policy = policy.withVerifyChangeLog(false);
            MergeTrees trees = new MergeTrees(Path.of(opt.get("--base")), Path.of(opt.get("--live")), Path.of(opt.get("--shadow")));
            for (Path p : List.of(trees.base(), trees.live(), trees.shadow()))
                if (!Files.isDirectory(p)) { err.println("not a directory: " + p); return USAGE; }
            MergeEngine engine = new MergeEngine(policy);
            Path live = trees.live().toAbsolutePath().normalize();
            Path journalDir = opt.containsKey("--journal") ? Path.of(opt.get("--journal"))
                    : live.resolveSibling(live.getFileName() + ".merge-journal");
            Journal journal = Journal.at(journalDir, trees);
            Optional<Journal.Interrupted> interrupted = flags.contains("--plan-only") ? Optional.empty() : journal.interrupted();
            if (interrupted.isPresent()) {
                Journal.Interrupted i = interrupted.get();
                out.printf("resuming the interrupted merge of %s: %d of %d operations done%n", journalDir, i.done().size(), i.plan().size());
                return finish(engine.resume(i, trees, journal), opt, out, err);
            }
            MergePlan plan;
            if (opt.containsKey("--plan-in")) {
                MergePlan approved = MergePlan.fromJson(Files.readString(Path.of(opt.get("--plan-in")), StandardCharsets.UTF_8));
                plan = engine.replan(approved, trees);
            } else {
                plan = engine.plan(trees, Optional.ofNullable(opt.get("--changes")).map(Path::of));
            }
            for (String r : resolves) {
                int eq = r.lastIndexOf('=');
                if (eq <= 0) { err.println("--resolve wants /PATH=keep-live|take-shadow|hybrid|three-way: " + r); return USAGE; }
                String path = r.substring(0, eq);
                while (path.startsWith("/")) path = path.substring(1);
                plan = plan.withResolution(path, Decision.parseResolution(r.substring(eq + 1)));
            }
            if (opt.containsKey("--plan-out")) Files.writeString(Path.of(opt.get("--plan-out")), plan.toJson(), StandardCharsets.UTF_8);
            printPlanSummary(plan, out);
            List<Conflict> conflicts = plan.unresolvedConflicts();
            if (!conflicts.isEmpty()) {
                err.println(conflicts.size() + " unresolved conflict(s); nothing written:");
                for (Conflict c : conflicts) err.println(c.describe());
            }
            if (flags.contains("--plan-only") || !conflicts.isEmpty()) {
                if (opt.containsKey("--report")) {
                    Map<String, Duration> times = new LinkedHashMap<>();
                    times.put("detect", Duration.ofMillis(plan.detect().detectMillis()));
                    times.put("plan", Duration.ofMillis(plan.detect().planMillis()));
                    Map<String, String> left = new LinkedHashMap<>();
                    for (Conflict c : conflicts) left.put(c.path(), "unresolved conflict: " + c.kind());
                    writeReport(opt.get("--report"), new MergeReport(plan.ruleCounts(), 0, plan.detect().pathsScanned(), times, left, List.of(), 0, plan.detect()).toJson());
                }
                return conflicts.isEmpty() ? OK : CONFLICTS;
            }
            return finish(engine.execute(plan, trees, journal), opt, out, err);
        } catch (MergeConflictException e) {
            err.println(e.getMessage());
            return CONFLICTS;
        } catch (IOException | RuntimeException e) {
            err.println("error: " + e);
            return ERROR;
        }
    }

    private static int finish(MergeReport report, Map<String, String> opt, PrintStream out, PrintStream err) throws IOException {
        if (opt.containsKey("--report")) writeReport(opt.get("--report"), report.toJson());
        out.printf("bytes copied: %d%n", report.bytesCopied());
        report.stageTimes().forEach((k, v) -> out.printf("%-8s %8.3f s%n", k, v.toNanos() / 1e9));
        if (!report.complete()) {
            err.println("merge incomplete; the live tree is partly merged (the journal keeps the plan: running the same"
                    + " command again retries what is left); left undone:");
            report.left().forEach((p, why) -> err.println("  /" + p + ": " + why));
            return INCOMPLETE;
        }
        out.println("merged");
        return OK;
    }

    private static void writeReport(String file, String json) throws IOException {
        Files.writeString(Path.of(file), json, StandardCharsets.UTF_8);
    }

    static void printPlanSummary(MergePlan plan, PrintStream out) {
        DetectInfo d = plan.detect();
        out.printf("paths scanned: %d (%s)%n", d.pathsScanned(), d.fullScan() ? "full scan" : "change log / plan paths only");
        if (d.logPaths() >= 0) out.printf("change log: %d paths, %d changed paths it missed, %d malformed lines%n",
                d.logPaths(), d.logMissed().size(), d.logMalformed().size());
        for (String m : d.logMissed()) out.println("  missed by the log: /" + m);
        for (String m : d.logMalformed()) out.println("  malformed log line: " + m);
        for (String r : d.refused()) out.println("  refused: " + r);
        out.printf("plan: %d paths, %d bytes to copy%n", plan.size(), plan.bytesToCopy());
        plan.ruleCountWords().forEach((rule, n) -> out.printf("  %-30s %d%n", rule, n));
    }
}
