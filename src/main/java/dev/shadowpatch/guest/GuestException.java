package dev.shadowpatch.guest;

/** An SSH operation on a guest failed; the message names the guest (user@host:port) and the cause. */
public class GuestException extends RuntimeException {
    public GuestException(String message) {
        super(message);
    }

    public GuestException(String message, Throwable cause) {
        super(message, cause);
    }
}
