package dev.shadowpatch.restart;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the live VM will need after the merge, and why: the class, the service units to restart (for
 * {@link RestartClass#SERVICES}), one line per reason, the sessions and stray processes that keep old
 * code until they end (reported, never a reason), and how long the restart took in the shadow.
 */
public record RestartNeed(RestartClass restartClass, List<String> units, List<String> reasons, List<String> sessions,
                          Double measuredSeconds, String measuredHow) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public RestartNeed withMeasure(Double seconds, String how) {
        return new RestartNeed(restartClass, units, reasons, sessions, seconds, how);
    }

    /** One line for the form and Cockpit. */
    public String summary() {
        String head = switch (restartClass) {
            case NONE -> "none: nothing running uses what the patch changed";
            case SERVICES -> "services: restart " + String.join(", ", units);
            case SYSTEM -> "system: a reboot";
        };
        String why = reasons.isEmpty() ? "" : " (" + reasons.get(0) + (reasons.size() > 1 ? "; +" + (reasons.size() - 1) + " more" : "") + ")";
        String took = measuredSeconds == null ? "" : String.format("; %.1f s in the shadow (%s)", measuredSeconds, measuredHow);
        return head + why + took;
    }

    /** Back from {@link #toJson}. */
    public static RestartNeed fromJson(byte[] json) {
        try {
            com.fasterxml.jackson.databind.JsonNode n = JSON.readTree(json);
            RestartClass c = RestartClass.ofWord(n.path("restartClass").asText(null));
            if (c == null) {
                throw new IllegalArgumentException("a restart need without a known class: " + n.path("restartClass"));
            }
            java.util.function.Function<String, List<String>> list = f -> {
                List<String> out = new java.util.ArrayList<>();
                n.path(f).forEach(x -> out.add(x.asText()));
                return out;
            };
            return new RestartNeed(c, list.apply("units"), list.apply("reasons"), list.apply("sessions"),
                    n.path("measuredSeconds").isNumber() ? n.get("measuredSeconds").asDouble() : null,
                    n.path("measuredHow").asText(null));
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("not a restart need: " + e.getMessage(), e);
        }
    }

    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("restartClass", restartClass.word());
        m.put("units", units);
        m.put("reasons", reasons);
        m.put("sessions", sessions);
        m.put("measuredSeconds", measuredSeconds);
        m.put("measuredHow", measuredHow);
        try {
            return JSON.writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
