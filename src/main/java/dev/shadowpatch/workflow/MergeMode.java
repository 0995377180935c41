package dev.shadowpatch.workflow;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * How the window merges. {@link #formValue} is what the approval form and a REST caller send in
 * {@code mergeMode} and what the audit shows; identity is the constant.
 */
public enum MergeMode {
    /** shut the live VM down, merge its disk from the host, boot it (every patch) */
    REBOOT("reboot", "reboot: shut down, merge from the host, boot"),
    /** merge inside the running live VM, restarting only the units the patch needs (a services- or none-class patch) */
    ONLINE("online", "online: merge inside the running VM, restart only the units that need it");

    public final String formValue;
    public final String words;

    MergeMode(String formValue, String words) {
        this.formValue = formValue;
        this.words = words;
    }

    /** The mode a form value names; none given is the reboot. */
    public static MergeMode ofFormValue(Object value) {
        if (value == null || value.toString().isBlank()) {
            return REBOOT;
        }
        for (MergeMode m : values()) {
            if (m.formValue.equals(value.toString())) {
                return m;
            }
        }
        throw new IllegalArgumentException("'mergeMode' must be one of " + Arrays.stream(values())
                .map(m -> m.formValue).collect(Collectors.joining(", ")) + ", was " + value);
    }
}
