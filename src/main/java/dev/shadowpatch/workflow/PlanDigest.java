package dev.shadowpatch.workflow;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** The identity of a merge plan as approved: SHA-256 of its JSON bytes. */
public final class PlanDigest {
    private PlanDigest() {}

    public static String sha256(byte[] planJson) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(planJson));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
