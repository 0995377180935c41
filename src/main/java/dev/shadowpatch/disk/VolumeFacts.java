package dev.shadowpatch.disk;

/**
 * What probing found at one place of a VM's disks (a whole disk, a partition, a logical volume):
 * where it lies in the disk's bytes and what blkid says it holds.
 *
 * @param offset,size its bytes in the disk (a logical volume is mapped only when contiguous)
 * @param type        blkid's TYPE ({@code ext4}, {@code vfat}, {@code swap}, {@code LVM2_member}), or null
 * @param problem     why it cannot be exposed although it was found (e.g. a logical volume in pieces), or null
 */
public record VolumeFacts(GuestLayout.Volume volume, long offset, long size, String type, String uuid, String label,
                          String partUuid, String partLabel, String problem) {

    public VolumeFacts withProblem(String why) {
        return new VolumeFacts(volume, offset, size, type, uuid, label, partUuid, partLabel, why);
    }
}
