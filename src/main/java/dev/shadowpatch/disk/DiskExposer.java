package dev.shadowpatch.disk;

import java.nio.file.Path;

/**
 * Exposes a qcow2 or raw image's file system as a directory on the host and takes it away again
 * (qemu-storage-daemon FUSE export + loop mount: needs only /dev/fuse and loop devices, so it
 * works on hosts without the nbd module; a qemu-nbd variant is not built, as no host here could test it).
 * Mounts are always {@code nosuid,nodev,noexec}; the image format is always explicit.
 */
public interface DiskExposer {

    enum Access {
        /**
         * Read-only view of an image no VM writes: a throwaway overlay takes the journal replay, so
         * a file system left dirty (a VM destroyed without a clean shutdown) is seen as recovered.
         */
        READ_ONLY,
        /** Read-only view of an image a running VM still writes: a throwaway overlay replays its journal. */
        SNAPSHOT_OF_RUNNING,
        /** Read-write (the merge overlay). */
        READ_WRITE
    }

    /**
     * Mounts the image's file system (its root partition when partitioned). Close to unmount.
     *
     * @param format {@code qcow2} or {@code raw}, as the domain XML declares the disk (a raw base of a
     *               raw-disk VM); never probed: a raw image's first bytes are the guest's
     */
    MountedImage expose(Path image, String format, Access access);

    /** A qcow2 image (every overlay, and the base of a qcow2-disk VM). */
    default MountedImage expose(Path qcow2Image, Access access) {
        return expose(qcow2Image, "qcow2", access);
    }
}
