package dev.shadowpatch.merge;

import java.util.List;

/**
 * What the detect stage saw.
 *
 * @param pathsScanned     entries lstat'ed in the shadow (and compared with the base)
 * @param fullScan         whether the whole shadow tree was scanned (false: only the change log's paths)
 * @param logPaths         distinct paths named by the change log (-1: no log)
 * @param logMissed        changed paths the full scan found that the log did not name
 * @param logMalformed     change-log lines that were refused (with the reason)
 * @param refused          entries not scanned (other file system, too deep, unreadable), with the reason
 * @param detectMillis     time of the detect stage
 * @param planMillis       time of the plan stage
 */
public record DetectInfo(long pathsScanned, boolean fullScan, long logPaths, List<String> logMissed,
                         List<String> logMalformed, List<String> refused, long detectMillis, long planMillis) {
    public DetectInfo {
        logMissed = logMissed == null ? List.of() : List.copyOf(logMissed);
        logMalformed = logMalformed == null ? List.of() : List.copyOf(logMalformed);
        refused = refused == null ? List.of() : List.copyOf(refused);
    }

    public DetectInfo withTimes(long detect, long plan) {
        return new DetectInfo(pathsScanned, fullScan, logPaths, logMissed, logMalformed, refused, detect, plan);
    }
}
