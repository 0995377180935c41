package dev.shadowpatch.campaign;

/**
 * A campaign limit as AWS Systems Manager and Foreman users write it: a number ({@code 10}) or a
 * percentage ({@code 10%}) of a total. A percentage rounds up and is at least 1, so "10%" of 5 VMs
 * still lets one run.
 */
public record Limit(int value, boolean percent) {

    public static Limit parse(String field, Object raw, String fallback) {
        String text = raw == null || raw.toString().isBlank() ? fallback : raw.toString().trim();
        boolean percent = text.endsWith("%");
        String number = percent ? text.substring(0, text.length() - 1).trim() : text;
        int value;
        try {
            value = Integer.parseInt(number);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + field + "' = '" + raw + "' is neither a number (e.g. 10) nor a percentage (e.g. 10%)");
        }
        if (value < 1 || (percent && value > 100)) {
            throw new IllegalArgumentException("'" + field + "' = '" + raw + "' must be at least 1" + (percent ? " and at most 100%" : ""));
        }
        return new Limit(value, percent);
    }

    /** The limit for {@code total} items. */
    public int of(int total) {
        if (!percent) {
            return value;
        }
        return Math.max(1, (int) Math.ceil(total * value / 100.0));
    }

    @Override
    public String toString() {
        return value + (percent ? "%" : "");
    }
}
