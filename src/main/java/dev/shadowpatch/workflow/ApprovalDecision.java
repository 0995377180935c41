package dev.shadowpatch.workflow;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The decisions on an approval task. {@link #formValue} is what the form and the REST caller send
 * in {@code approvalDecision} (and campaigns in their decision variable); {@link #words} is how it
 * is shown. Identity is the constant, never the display text.
 */
public enum ApprovalDecision {
    APPROVE("approve", "approved"),
    REJECT("reject", "rejected"),
    SEND_BACK("sendBack", "sent back to the shadow");

    public final String formValue;
    public final String words;

    ApprovalDecision(String formValue, String words) {
        this.formValue = formValue;
        this.words = words;
    }

    /** The decision a form value names; a clear error naming the accepted values otherwise. */
    public static ApprovalDecision ofFormValue(Object value, String variable) {
        for (ApprovalDecision d : values()) {
            if (d.formValue.equals(value == null ? null : value.toString())) {
                return d;
            }
        }
        throw new IllegalArgumentException("'" + variable + "' must be one of " + Arrays.stream(values())
                .map(d -> d.formValue).collect(Collectors.joining(", ")) + ", was " + value);
    }
}
