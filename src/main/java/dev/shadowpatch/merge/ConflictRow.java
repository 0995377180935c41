package dev.shadowpatch.merge;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.List;

/**
 * One unresolved conflict as the approval form shows it: the guest path, what each side did since
 * the base, its text diff (or why none), the decisions that can execute with the one preselected.
 *
 * @param path        the guest path, as the operator's decision names it
 * @param note        why, where the kind alone does not say it (a subtree not scanned: the reason)
 * @param policy      the path's policy action (why it was asked)
 * @param preselected the decision the form starts with: the policy's where the conflict offers it,
 *                    else keep-live (what the live VM has now stays, as dpkg keeps a changed conffile)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ConflictRow(String path, ConflictKind kind, String note, Decision policy, SideChange live, SideChange shadow,
                          List<Choice> choices, Decision preselected, ThreeWayDiff diff) {
    public ConflictRow {
        choices = List.copyOf(choices);
    }

    /** A decision the row offers, with the words the form shows for it. */
    public record Choice(Decision decision, String label) {
        static Choice of(Decision d) {
            return new Choice(d, d.label());
        }
    }

    /** The preselected decision of a conflict with these choices and this policy. */
    static Decision preselect(Decision policy, List<Decision> choices) {
        return choices.contains(policy) ? policy : Decision.KEEP_LIVE;
    }
}
