package dev.shadowpatch.guest;

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

    /** Downloads {@code remotePath} from the guest into {@code localFile}. */
    void download(GuestTarget target, String remotePath, Path localFile);
}
