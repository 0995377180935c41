package dev.shadowpatch.merge.fs;

import java.io.IOException;

/** An I/O error carrying the errno of a failed system call. */
public class Errno extends IOException {
    private final int errno;

    public Errno(String call, String what, int errno) {
        super(call + "(" + what + "): errno " + errno + " (" + describe(errno) + ")");
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }

    static String describe(int e) {
        return switch (e) {
            case 1 -> "EPERM"; case 2 -> "ENOENT"; case 13 -> "EACCES"; case 17 -> "EEXIST";
            case 18 -> "EXDEV"; case 20 -> "ENOTDIR"; case 21 -> "EISDIR"; case 22 -> "EINVAL";
            case 28 -> "ENOSPC"; case 39 -> "ENOTEMPTY"; case 40 -> "ELOOP"; case 61 -> "ENODATA";
            case 95 -> "EOPNOTSUPP"; case 36 -> "ENAMETOOLONG"; case 24 -> "EMFILE";
            default -> "?";
        };
    }
}
