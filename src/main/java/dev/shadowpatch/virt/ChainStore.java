package dev.shadowpatch.virt;

import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Where the chain records of runs live (libvirt keeps none: snapshots are NO_METADATA). Each save is
 * durable when it returns, whatever happens to the caller's transaction afterwards: a record says
 * what was done to real disks, which no rollback of the engine's transaction undoes.
 */
public interface ChainStore {
    Pattern RUN_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

    Optional<ChainRecord> load(String runId);

    void save(ChainRecord r);

    /** Every record, open or cleaned (one open run per VM, and whether a base is still shared). */
    List<ChainRecord> all();

    static String checkRunId(String runId) {
        if (runId == null || !RUN_ID.matcher(runId).matches()) {
            throw new HypervisorException("bad run id '" + runId + "': letters, digits, '.', '_' and '-' only, at most 64");
        }
        return runId;
    }
}
