package dev.shadowpatch.guest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Commands and files in a guest over SSH. Host keys are checked against pinned known_hosts; keys
 * and passwords come from configuration, never from process variables.
 */
public interface GuestShell {

    /** Runs a shell command and captures its exit code and output; a timeout kills it. */
    CommandResult run(GuestTarget target, String command, Duration timeout);

    /** Uploads a local file to {@code remotePath} in the guest. */
    void upload(GuestTarget target, Path localFile, String remotePath);

    /** Writes {@code content} to {@code remotePath} in the guest (through a temporary local file unless overridden). */
    default void upload(GuestTarget target, byte[] content, String remotePath) {
        try {
            Path tmp = Files.createTempFile("sp-upload", ".bin");
            try {
                Files.write(tmp, content);
                upload(target, tmp, remotePath);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Downloads {@code remotePath} from the guest into {@code localFile}. */
    void download(GuestTarget target, String remotePath, Path localFile);
}
