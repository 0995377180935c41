package dev.shadowpatch.guest;

import dev.shadowpatch.merge.RelPath;

import java.util.LinkedHashSet;
import java.util.Set;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The change log fetched from a guest (inotify events, as in the paper), read by the merge engine's
 * one parser ({@link dev.shadowpatch.merge.ChangeLog}): a hint of which paths the patch touched.
 * The scan of shadow vs base stays the authority.
 */
public record ChangeLog(dev.shadowpatch.merge.ChangeLog log) {

    /** The distinct guest paths (absolute, names escaped as in {@link RelPath}), in path order. */
    public Set<String> paths() {
        Set<String> out = new LinkedHashSet<>();
        log.paths.keySet().forEach(rel -> out.add(RelPath.absolute(rel)));
        return out;
    }

    /** Lines that were refused (with the reason). */
    public List<String> malformed() {
        return log.malformed;
    }

    public static ChangeLog parse(byte[] text) {
        try {
            return new ChangeLog(dev.shadowpatch.merge.ChangeLog.read(new ByteArrayInputStream(text)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static ChangeLog parse(String text) {
        return parse(text.getBytes(StandardCharsets.UTF_8));
    }
}
