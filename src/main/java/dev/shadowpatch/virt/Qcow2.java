package dev.shadowpatch.virt;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The one format check: the qcow2 magic, read from the file (QEMU is never left to probe). */
public final class Qcow2 {
    private Qcow2() {
    }

    public static boolean isQcow2(Path image) {
        try (InputStream in = Files.newInputStream(image)) {
            byte[] m = in.readNBytes(4);
            return m.length == 4 && m[0] == 'Q' && m[1] == 'F' && m[2] == 'I' && (m[3] & 0xff) == 0xfb;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read image " + image + ": " + e.getMessage(), e);
        }
    }
}
