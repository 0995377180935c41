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

    /**
     * The VM's file systems on its disks (libvirt target -> image, in the format the domain declares,
     * qcow2 where none is given) as its {@code /etc/fstab} mounts them: finds every partition,
     * whole-disk file system and LVM logical volume, reads fstab from the one holding it, and
     * resolves each entry (see {@link LayoutResolver}). Leaves nothing mounted.
     *
     * @throws LayoutResolver.LayoutRefusedException when the layout is not understood, with every reason
     */
    GuestLayout readLayout(java.util.Map<String, Path> imagesByTarget, java.util.Map<String, String> formatsByTarget, Access access);

    /**
     * Mounts each of the layout's file systems on this disk on its own directory, after checking
     * each is still where the layout says (same volume, same file system UUID). Close to unmount all.
     */
    MountedDisk exposeFileSystems(Path image, String format, Access access, GuestLayout layout, String diskTarget);

    /**
     * What a qcow2 delta (the shadow's) holds outside every file system of the layout on this disk,
     * one line per place ({@link UnmergedWrites}); empty when the merge carries over all it wrote.
     * The boot loader area counts as carried over when {@code bootLoader} is (null: never).
     */
    java.util.List<String> unmergedWrites(Path delta, GuestLayout layout, String diskTarget, BootLoaderArea.Copy bootLoader);

    /**
     * What of the shadow's writes to this disk's boot loader area (outside every file system) the
     * window carries to the live disk, or why it cannot ({@link BootLoaderArea}).
     *
     * @param liveAccess how to read the live delta: {@code SNAPSHOT_OF_RUNNING} while the live VM runs
     */
    BootLoaderArea.Copy bootLoaderCopy(Path shadowDelta, Path liveDelta, Access liveAccess, String diskTarget);

    /**
     * Copies the carried ranges of the shadow's disk into the merge overlay (no VM runs on it),
     * byte for byte, and syncs them. Idempotent: the same bytes again.
     */
    void writeBootLoader(Path shadowDelta, Path mergeOverlay, BootLoaderArea.Copy copy);
}
