package dev.shadowpatch.merge;

import java.nio.file.Path;

/** The three trees of a merge: the common ancestor, the live VM's file system, the patched shadow's. */
public record MergeTrees(Path base, Path live, Path shadow) {}
