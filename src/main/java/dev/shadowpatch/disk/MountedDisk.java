package dev.shadowpatch.disk;

import java.nio.file.Path;
import java.util.Set;

/**
 * One disk of a VM with each of its file systems mounted on the host on a directory of its own
 * (never one inside another: the merge takes each as its own tree). {@link #root()} is the root
 * file system's, when this disk holds it.
 */
public interface MountedDisk extends MountedImage {
    /** Where the file system the guest mounts at {@code guestMountPoint} is mounted here. */
    Path root(String guestMountPoint);

    /** The guest mount points of the file systems exposed. */
    Set<String> mountPoints();
}
