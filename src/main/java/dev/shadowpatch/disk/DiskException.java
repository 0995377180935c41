package dev.shadowpatch.disk;

/** Exposing or taking away an image's file system failed; the message names the image and the step. */
public class DiskException extends RuntimeException {
    public DiskException(String message) {
        super(message);
    }

    public DiskException(String message, Throwable cause) {
        super(message, cause);
    }
}
