package dev.shadowpatch.virt;

import java.util.Optional;
import java.util.Set;

/**
 * Which disk a shadow can be made of, decided from the domain XML alone (pure, so a refused start
 * names the reason before anything is touched). A shadow needs an external qcow2 snapshot overlay
 * on a file: a qcow2 file, or a raw file (the overlay's backing format is then raw, and every read
 * of the base says so). A host block device, a network disk (rbd, iSCSI, NBD, gluster, ...) or a
 * storage-pool volume is refused, as is a disk whose format is not declared: the format is
 * never probed, because a raw disk's first bytes are the guest's and could pose as a qcow2 header.
 */
public final class PatchableDisk {
    /** The base formats a shadow can be made of. */
    public static final Set<String> FORMATS = Set.of("qcow2", "raw");

    private PatchableDisk() {
    }

    /** Why a shadow cannot be made of {@code disk} of VM {@code vm}, or empty when it can. */
    public static Optional<String> whyNot(String vm, DomainXml.Disk disk) {
        String which = "disk " + disk.target() + " of VM " + vm;
        String at = disk.source() == null ? "" : " (" + disk.source() + ")";
        String type = disk.type() == null || disk.type().isEmpty() ? "file" : disk.type();
        String refusal = switch (type) {
            case "file" -> null;
            case "block" -> which + " is the host block device " + disk.source();
            case "network" -> which + " is a network disk (rbd, iSCSI, NBD, ...)" + at;
            case "volume" -> which + " is a storage pool volume" + at;
            default -> which + " is a disk of type '" + type + "'" + at;
        };
        if (refusal != null) {
            return Optional.of(refusal + ": a shadow needs an external snapshot overlay on a qcow2 or raw file disk");
        }
        if (disk.format() == null) {
            return Optional.of(which + at + " declares no format: give it <driver name='qemu' type='qcow2'/> "
                    + "or type='raw' (the format is never probed)");
        }
        if (!FORMATS.contains(disk.format())) {
            return Optional.of(which + at + " is " + disk.format() + ": a shadow is made of a qcow2 or raw file disk");
        }
        return Optional.empty();
    }
}
