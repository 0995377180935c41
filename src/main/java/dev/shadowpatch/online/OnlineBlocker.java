package dev.shadowpatch.online;

/**
 * Why a patch is not merged into the running live VM: the window takes the reboot path instead.
 * Identity is the constant; {@link #word} is what the form and the audit show.
 */
public enum OnlineBlocker {
    /** the restart the shadow found is a reboot (a new kernel, code PID 1 or the bus runs) */
    RESTART_NEEDS_REBOOT("the patch needs a reboot"),
    /** the shadow could not say what the patch restarts */
    RESTART_UNKNOWN("the restart the patch needs is unknown"),
    /** a package whose update is only taken by a reboot (the kernel, the init system, the C library) */
    REBOOT_PACKAGE("a kernel, init or C library package"),
    /** a conflict no rule or operator has decided yet */
    UNDECIDED_CONFLICT("an undecided conflict"),
    /** a three-way merge of a file: its live content at the window is not known in advance */
    THREE_WAY_MERGE("a three-way merge"),
    /** paper rule 4: both versions kept under new names */
    HYBRID_COPY("a hybrid copy (rule 4)"),
    /** a directory becomes something else or something else becomes a directory */
    DIRECTORY_TYPE_CHANGE("a directory changes type"),
    /** a socket: nothing can stage it */
    SOCKET("a socket"),
    /** extended attributes (ACLs) of a directory: the in-guest applier sets owner, mode and time only */
    DIRECTORY_XATTRS("extended attributes of a directory"),
    /** the shadow installed its boot loader outside the file systems: only a shut-down disk takes it */
    BOOT_LOADER("a boot loader install (grub-install)");

    private final String word;

    OnlineBlocker(String word) {
        this.word = word;
    }

    public String word() {
        return word;
    }
}
