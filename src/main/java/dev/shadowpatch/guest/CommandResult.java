package dev.shadowpatch.guest;

import java.time.Duration;

/** The outcome of one command in a guest. */
public record CommandResult(String command, int exitCode, String stdout, String stderr, Duration took) {
    public boolean succeeded() {
        return exitCode == 0;
    }
}
