package dev.shadowpatch.merge.fs;

/** File types as lstat reports them. */
public enum FileType {
    FILE, DIR, SYMLINK, FIFO, CHAR, BLOCK, SOCKET;

    public static FileType ofMode(int mode) {
        return switch (mode & 0170000) {
            case 0100000 -> FILE;
            case 0040000 -> DIR;
            case 0120000 -> SYMLINK;
            case 0010000 -> FIFO;
            case 0020000 -> CHAR;
            case 0060000 -> BLOCK;
            case 0140000 -> SOCKET;
            default -> throw new IllegalArgumentException("unknown file type in mode " + Integer.toOctalString(mode));
        };
    }

    public int modeBits() {
        return switch (this) {
            case FILE -> 0100000; case DIR -> 0040000; case SYMLINK -> 0120000; case FIFO -> 0010000;
            case CHAR -> 0020000; case BLOCK -> 0060000; case SOCKET -> 0140000;
        };
    }
}
