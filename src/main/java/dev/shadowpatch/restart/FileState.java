package dev.shadowpatch.restart;

/**
 * What identifies one version of a file in the guest: a package upgrade writes a new file and renames
 * it over the old one, so the inode changes; a rewrite in place changes size or mtime.
 */
public record FileState(long dev, long inode, long mtime, long size) {}
