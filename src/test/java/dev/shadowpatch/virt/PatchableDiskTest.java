package dev.shadowpatch.virt;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Which disk a shadow can be made of, from the {@code <disk>} as libvirt shows it: one case a line. */
class PatchableDiskTest {

    static Optional<String> whyNot(String disk) {
        String xml = "<domain><name>web1</name><devices>" + disk + "</devices></domain>";
        return PatchableDisk.whyNot("web1", DomainXml.patchDisk(xml, null));
    }

    @Test
    void aQcow2FileIsPatchable() {
        assertThat(whyNot("<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/img/w.qcow2'/><target dev='vda'/></disk>")).isEmpty();
    }

    @Test
    void aRawFileIsPatchable() {
        assertThat(whyNot("<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/img/w.img'/><target dev='vda'/></disk>")).isEmpty();
    }

    @Test
    void aFileWithoutADeclaredFormatIsRefusedNotProbed() {
        assertThat(whyNot("<disk type='file' device='disk'><source file='/img/w.img'/><target dev='vda'/></disk>")).get().asString()
                .contains("disk vda of VM web1 (/img/w.img) declares no format").contains("never probed");
    }

    @Test
    void anotherFileFormatIsRefusedByName() {
        assertThat(whyNot("<disk type='file' device='disk'><driver name='qemu' type='vmdk'/><source file='/img/w.vmdk'/><target dev='vda'/></disk>"))
                .get().asString().contains("disk vda of VM web1 (/img/w.vmdk) is vmdk: a shadow is made of a qcow2 or raw file disk");
    }

    @Test
    void aHostBlockDeviceIsRefused() {
        assertThat(whyNot("<disk type='block' device='disk'><driver name='qemu' type='raw'/><source dev='/dev/vg0/web1'/><target dev='vda'/></disk>"))
                .get().asString().contains("disk vda of VM web1 is the host block device /dev/vg0/web1")
                .contains("qcow2 or raw file disk");
    }

    @Test
    void aNetworkDiskIsRefused() {
        assertThat(whyNot("<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='rbd' name='pool/web1'>"
                + "<host name='ceph1' port='6789'/></source><target dev='vda'/></disk>"))
                .get().asString().contains("disk vda of VM web1 is a network disk (rbd, iSCSI, NBD, ...) (pool/web1)");
        assertThat(whyNot("<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='iscsi' name='iqn.2026-01.example:t/1'>"
                + "<host name='san' port='3260'/></source><target dev='vda'/></disk>"))
                .get().asString().contains("(iqn.2026-01.example:t/1)");
    }

    @Test
    void aPoolVolumeIsRefused() {
        assertThat(whyNot("<disk type='volume' device='disk'><driver name='qemu' type='qcow2'/><source pool='default' volume='w.qcow2'/><target dev='vda'/></disk>"))
                .get().asString().contains("disk vda of VM web1 is a storage pool volume: a shadow needs");
    }
}
