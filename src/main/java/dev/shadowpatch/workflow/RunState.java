package dev.shadowpatch.workflow;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shadowpatch.disk.GuestLayout;
import dev.shadowpatch.virt.ShadowClone;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.variable.Variables;
import org.camunda.bpm.engine.variable.value.FileValue;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import static dev.shadowpatch.workflow.ProcessVariables.SHADOW_CLONE;

/** Typed access to the run's variables that are more than a string: the disk chain and evidence files. */
public final class RunState {
    /** Camunda string variables are limited to 4000 characters; previews stay well below. */
    public static final int PREVIEW_CHARS = 3500;
    private static final ObjectMapper JSON = new ObjectMapper();

    private RunState() {}

    /** A file variable: a chain of many disks outgrows a string variable's 4000 characters. */
    public static void putClone(DelegateExecution execution, ShadowClone clone) {
        execution.setVariable(SHADOW_CLONE, jsonFile("disk-chain.json", clone.toJson().getBytes(StandardCharsets.UTF_8)));
        execution.setVariable(ProcessVariables.SHADOW_VM, clone.shadowVm());
    }

    public static ShadowClone clone(DelegateExecution execution) {
        Object value = execution.getVariable(SHADOW_CLONE);
        if (value == null) {
            throw new IllegalStateException("This run has no shadow yet (variable '" + SHADOW_CLONE + "' is missing)");
        }
        // a string in runs started before the chain became a file
        String json = value instanceof String s ? s : new String(fileBytes(execution, SHADOW_CLONE), StandardCharsets.UTF_8);
        try {
            return ShadowClone.fromJson(json);
        } catch (RuntimeException e) {
            throw new IllegalStateException("Variable '" + SHADOW_CLONE + "' is not a disk chain: " + e.getMessage(), e);
        }
    }

    /**
     * The live VM's file systems as read at the run's start: a file variable (JSON) next to a
     * readable summary {@code guestLayoutSummary} an approver sees.
     */
    public static void putLayout(DelegateExecution execution, GuestLayout layout) {
        execution.setVariable(ProcessVariables.GUEST_LAYOUT, jsonFile("guest-layout.json", layout.toJson().getBytes(StandardCharsets.UTF_8)));
        execution.setVariable(ProcessVariables.GUEST_LAYOUT_SUMMARY, head(String.join("\n", layout.describe())));
    }

    /** The run's layout, or null for a run started before layouts were read (its one root file system). */
    public static GuestLayout layout(DelegateExecution execution) {
        if (execution.getVariable(ProcessVariables.GUEST_LAYOUT) == null) {
            return null;
        }
        return GuestLayout.fromJson(new String(fileBytes(execution, ProcessVariables.GUEST_LAYOUT), StandardCharsets.UTF_8));
    }

    /** The inventory host of the run's live VM, or null: the configured hypervisor. */
    public static String hostOf(DelegateExecution execution) {
        Object host = execution.getVariable(ProcessVariables.HYPERVISOR_HOST);
        return host == null || host.toString().isBlank() ? null : host.toString();
    }

    public static String requireString(DelegateExecution execution, String name) {
        Object value = execution.getVariable(name);
        if (value == null || value.toString().isBlank()) {
            throw new IllegalArgumentException("Process variable '" + name + "' is required but missing or empty");
        }
        return value.toString();
    }

    /** A text artefact stored as bytes behind a file variable (downloadable in Cockpit and history). */
    public static FileValue textFile(String fileName, String text) {
        return Variables.fileValue(fileName)
                .file(text.getBytes(StandardCharsets.UTF_8))
                .mimeType("text/plain")
                .encoding(StandardCharsets.UTF_8)
                .create();
    }

    public static FileValue jsonFile(String fileName, byte[] json) {
        return Variables.fileValue(fileName).file(json).mimeType("application/json")
                .encoding(StandardCharsets.UTF_8).create();
    }

    public static byte[] fileBytes(org.camunda.bpm.engine.delegate.VariableScope execution, String name) {
        FileValue file = execution.getVariableTyped(name);
        if (file == null) {
            throw new IllegalStateException("Process variable '" + name + "' (a file) is missing");
        }
        try (InputStream in = file.getValue()) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The start of a long text, where its headline is, bounded for a string variable. */
    public static String head(String text) {
        return text.length() > PREVIEW_CHARS ? text.substring(0, PREVIEW_CHARS) + "\n..." : text;
    }

    /** The end of a long text, where the failure usually is, bounded for a string variable. */
    public static String tail(String text) {
        if (text == null) {
            return "";
        }
        return text.length() <= PREVIEW_CHARS ? text
                : "[... " + (text.length() - PREVIEW_CHARS) + " characters before this; see the file variable]\n"
                + text.substring(text.length() - PREVIEW_CHARS);
    }

    public static String toJson(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Map<String, Long> sorted(Map<String, Long> counts) {
        return new LinkedHashMap<>(new java.util.TreeMap<>(counts));
    }
}
