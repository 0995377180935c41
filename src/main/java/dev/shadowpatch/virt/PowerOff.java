package dev.shadowpatch.virt;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * How a VM went off when it was shut down ({@link Hypervisor#shutdown}). Identity is the constant;
 * {@link #word} is what process variables, logs and the operator read.
 */
public enum PowerOff {
    /** the guest shut down on the ACPI request within the grace period: its file systems were unmounted cleanly */
    CLEAN("clean"),
    /**
     * the guest did not shut down within the grace period and was destroyed (power cut): its file
     * systems are as after a crash, consistent once their journals are replayed, but writes the guest
     * had not flushed are lost
     */
    FORCED("forced"),
    /** the VM was off before the call (a retried step, or a guest that stopped by itself): how it went off is not known */
    ALREADY_OFF("already-off");

    private final String word;

    PowerOff(String word) { this.word = word; }

    @JsonValue
    public String word() { return word; }

    /** From its word (or its constant's name). */
    @JsonCreator
    public static PowerOff parse(String w) {
        for (PowerOff p : values()) if (p.word.equals(w) || p.name().equals(w)) return p;
        throw new IllegalArgumentException("unknown power-off '" + w + "' (clean|forced|already-off)");
    }

    @Override
    public String toString() { return word; }
}
