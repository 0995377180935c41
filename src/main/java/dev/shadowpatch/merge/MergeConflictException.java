package dev.shadowpatch.merge;

import java.io.IOException;
import java.util.List;

/** Thrown by execute when the plan still holds 'ask' conflicts; nothing was written. */
public class MergeConflictException extends IOException {
    private final List<Conflict> conflicts;

    public MergeConflictException(List<Conflict> conflicts) {
        super(conflicts.size() + " unresolved conflict(s); nothing was written");
        this.conflicts = List.copyOf(conflicts);
    }

    public List<Conflict> conflicts() { return conflicts; }
}
