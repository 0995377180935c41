package dev.shadowpatch.virt;

/** A hypervisor operation failed; the message says what, on which VM or file, and where (libvirt URI). */
public class HypervisorException extends RuntimeException {
    public HypervisorException(String message) {
        super(message);
    }

    public HypervisorException(String message, Throwable cause) {
        super(message, cause);
    }
}
