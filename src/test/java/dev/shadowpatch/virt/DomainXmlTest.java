package dev.shadowpatch.virt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DomainXmlTest {

    /** What libvirt shows after an external disk-only snapshot: the chain in {@code <backingStore>}. */
    static final String LIVE = """
            <domain type='qemu' id='3'>
              <name>web1</name>
              <uuid>1b4e28ba-2fa1-11d2-883f-0016d3cca427</uuid>
              <memory unit='KiB'>786432</memory>
              <os>
                <type arch='x86_64' machine='pc'>hvm</type>
                <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>
                <nvram>/var/lib/libvirt/qemu/nvram/web1_VARS.fd</nvram>
              </os>
              <devices>
                <disk type='file' device='disk'>
                  <driver name='qemu' type='qcow2'/>
                  <source file='/img/web1-r1-live.qcow2' index='2'/>
                  <backingStore type='file' index='1'>
                    <format type='qcow2'/>
                    <source file='/img/web1.qcow2'/>
                    <backingStore/>
                  </backingStore>
                  <target dev='vda' bus='virtio'/>
                  <alias name='virtio-disk0'/>
                </disk>
                <disk type='file' device='disk'>
                  <driver name='qemu' type='qcow2'/>
                  <source file='/img/web1-data.qcow2'/>
                  <target dev='vdb' bus='virtio'/>
                </disk>
                <disk type='file' device='cdrom'>
                  <driver name='qemu' type='raw'/>
                  <source file='/img/seed.iso'/>
                  <target dev='sda' bus='sata'/>
                  <readonly/>
                </disk>
                <interface type='bridge'>
                  <mac address='52:54:00:12:34:56'/>
                  <source bridge='br-prod'/>
                  <target dev='vnet0'/>
                  <model type='virtio'/>
                  <alias name='net0'/>
                </interface>
                <serial type='pty'>
                  <log file='/var/log/libvirt/qemu/web1-serial.log' append='off'/>
                  <target port='0'/>
                </serial>
                <channel type='unix'>
                  <source mode='bind' path='/run/libvirt/qemu/channel/3-web1/org.qemu.guest_agent.0'/>
                  <target type='virtio' name='org.qemu.guest_agent.0'/>
                </channel>
                <graphics type='vnc' port='5901' autoport='no'/>
                <tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>
              </devices>
            </domain>
            """;

    @Test
    void readsDisksAndTheirFormats() {
        assertThat(DomainXml.disks(LIVE)).extracting(DomainXml.Disk::target).containsExactly("vda", "vdb", "sda");
        DomainXml.Disk vda = DomainXml.patchDisk(LIVE, null);
        assertThat(vda.source()).isEqualTo("/img/web1-r1-live.qcow2");
        assertThat(vda.format()).isEqualTo("qcow2");
        assertThat(DomainXml.patchDisk(LIVE, "vdb").source()).isEqualTo("/img/web1-data.qcow2");
        assertThatThrownBy(() -> DomainXml.patchDisk(LIVE, "vdz")).hasMessageContaining("no disk vdz");
    }

    @Test
    void everyWritableDiskOfItsOwnIsSnapshottedTheBootDiskFirst() {
        String xml = LIVE.replace("<target dev='vda'", "<target dev='vdz'");
        assertThat(DomainXml.snapshotDisks(LIVE).keySet()).containsExactly("vda", "vdb");
        assertThat(DomainXml.snapshotDisks(xml).keySet()).as("the first disk boots, whatever its name").containsExactly("vdz", "vdb");
        assertThat(DomainXml.snapshotDisks(LIVE.replace("<source file='/img/web1-data.qcow2'/>",
                "<source file='/img/web1-data.qcow2'/><readonly/>")).keySet()).as("a read-only disk is not written: not snapshotted")
                .containsExactly("vda");
    }

    @Test
    void switchingSeveralDisksIsOneDefinition() {
        String xml = DomainXml.withDiskSources(LIVE, Map.of("vda", Path.of("/img/m-vda.qcow2"), "vdb", Path.of("/img/m-vdb.qcow2")));
        assertThat(DomainXml.disk(xml, "vda").orElseThrow().source()).isEqualTo("/img/m-vda.qcow2");
        assertThat(DomainXml.disk(xml, "vdb").orElseThrow().source()).isEqualTo("/img/m-vdb.qcow2");
        assertThatThrownBy(() -> DomainXml.withDiskSources(LIVE, Map.of("vdq", Path.of("/x")))).hasMessageContaining("no disk vdq");
    }

    @Test
    void switchingADiskDropsTheStaleBackingStore() {
        String xml = DomainXml.withDiskSource(LIVE, "vda", Path.of("/img/web1-r1-merge.qcow2"));
        assertThat(DomainXml.disk(xml, "vda").orElseThrow().source()).isEqualTo("/img/web1-r1-merge.qcow2");
        assertThat(xml).doesNotContain("backingStore").doesNotContain("/img/web1.qcow2");
        assertThat(DomainXml.hasBackingStore(LIVE, "vda")).as("an overlay not yet flattened").isTrue();
        assertThat(DomainXml.hasBackingStore(xml, "vda")).isFalse();
        assertThat(DomainXml.hasBackingStore(LIVE, "vdb")).isFalse();
        assertThat(DomainXml.disk(xml, "vdb").orElseThrow().source()).isEqualTo("/img/web1-data.qcow2");
    }

    @Test
    void shadowDefinitionHasANewIdentityOnTheIsolatedNetwork() {
        String xml = DomainXml.shadowDefinition(LIVE, "web1-shadow-r1", Map.of("vda", Path.of("/img/web1-shadow-r1.qcow2"),
                        "vdb", Path.of("/img/web1-shadow-r1-vdb.qcow2")), "shadowpatch-isolated", Path.of("/img/web1-shadow-r1_VARS.fd"));
        assertThat(DomainXml.name(xml)).isEqualTo("web1-shadow-r1");
        assertThat(xml).doesNotContain("<uuid>").doesNotContain("52:54:00:12:34:56").doesNotContain("backingStore");
        assertThat(DomainXml.macAddresses(xml)).isEmpty();
        assertThat(xml).contains("network=\"shadowpatch-isolated\"").doesNotContain("br-prod").doesNotContain("vnet0");
        assertThat(DomainXml.disk(xml, "vda").orElseThrow().source()).isEqualTo("/img/web1-shadow-r1.qcow2");
        assertThat(DomainXml.disk(xml, "vdb").orElseThrow().source()).as("every disk on its own shadow delta, never the live one")
                .isEqualTo("/img/web1-shadow-r1-vdb.qcow2");
        assertThat(xml).doesNotContain("web1-data.qcow2").doesNotContain("web1-r1-live.qcow2");
        assertThat(DomainXml.disk(xml, "sda")).as("read-only media stay").isPresent();
        assertThat(DomainXml.nvram(xml)).contains("/img/web1-shadow-r1_VARS.fd");
        assertThat(DomainXml.hasEmulatedTpm(xml)).isTrue();
        assertThat(DomainXml.uuid(LIVE)).isEqualTo("1b4e28ba-2fa1-11d2-883f-0016d3cca427");
        assertThat(DomainXml.uuid(xml)).isNull();
        assertThat(xml).contains("/var/log/libvirt/qemu/web1-shadow-r1-serial.log")
                .doesNotContain("channel/3-web1").doesNotContain("5901");
    }

    @Test
    void autoselectedFirmwareGetsTheShadowsOwnVariableStore() {
        // <os firmware='efi'>: the inactive definition names no store; the shadow must name its copy
        String live = LIVE.replace("<os>", "<os firmware='efi'>")
                .replace("<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>", "")
                .replace("<nvram>/var/lib/libvirt/qemu/nvram/web1_VARS.fd</nvram>", "");
        assertThat(DomainXml.nvram(live)).isEmpty();
        String xml = DomainXml.shadowDefinition(live, "web1-shadow-r1", Map.of("vda", Path.of("/img/web1-shadow-r1.qcow2")),
                "shadowpatch-isolated", Path.of("/img/web1-shadow-r1_VARS.fd"));
        assertThat(DomainXml.nvram(xml)).contains("/img/web1-shadow-r1_VARS.fd");
        assertThat(xml).contains("firmware=\"efi\"");
        String noStore = DomainXml.shadowDefinition(live, "web1-shadow-r1", Map.of("vda", Path.of("/img/web1-shadow-r1.qcow2")),
                "shadowpatch-isolated", null);
        assertThat(DomainXml.nvram(noStore)).isEmpty();
    }

    @Test
    void hostileXmlIsRejected() {
        assertThatThrownBy(() -> DomainXml.disks("<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain>&x;</domain>"))
                .isInstanceOf(HypervisorException.class);
    }

    /**
     * A shadow patches and tests with write access: it must never reach what the live VM shares.
     * Shareable and LUN disks, host directories (virtiofs, 9p), host devices, shared memory and USB
     * redirection are dropped and named; a passed-through NIC becomes a plain NIC on the isolated
     * network; the VM's own read-only ISO stays.
     */
    @Test
    void theShadowGetsNothingTheLiveVmShares() {
        String shared = LIVE.replace("<graphics type='vnc' port='5901' autoport='no'/>", """
                <disk type='block' device='disk'>
                  <driver name='qemu' type='raw' cache='none'/>
                  <source dev='/dev/mapper/cluster-shared'/>
                  <target dev='vdc' bus='virtio'/>
                  <shareable/>
                </disk>
                <disk type='block' device='lun'>
                  <source dev='/dev/sdz'/>
                  <target dev='sdb' bus='scsi'/>
                  <readonly/>
                </disk>
                <filesystem type='mount' accessmode='passthrough'>
                  <driver type='virtiofs'/>
                  <source dir='/srv/shared-data'/>
                  <target dir='data'/>
                </filesystem>
                <filesystem type='mount' accessmode='mapped'>
                  <source dir='/srv/nine'/>
                  <target dir='nine'/>
                </filesystem>
                <hostdev mode='subsystem' type='pci' managed='yes'>
                  <source><address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></source>
                </hostdev>
                <interface type='hostdev' managed='yes'>
                  <mac address='52:54:00:aa:bb:cc'/>
                  <driver name='vfio'/>
                  <source><address type='pci' domain='0x0000' bus='0x04' slot='0x10' function='0x1'/></source>
                </interface>
                <shmem name='ivshmem0'><model type='ivshmem-plain'/><size unit='M'>4</size></shmem>
                <redirdev bus='usb' type='spicevmc'/>
                <graphics type='vnc' port='5901' autoport='no'/>""");

        assertThat(DomainXml.snapshotDisks(shared).keySet()).as("its own writable disks, not the shareable one")
                .containsExactly("vda", "vdb");
        assertThat(DomainXml.sharedDevices(shared, DomainXml.snapshotDisks(shared).keySet())).containsExactly(
                "disk vdc is shareable (another VM may use it)",
                "disk sdb passes a host LUN through",
                "NIC 52:54:00:aa:bb:cc is a host device passed through (it becomes an isolated virtio NIC)",
                "a host directory shared into the VM (virtiofs/9p): data",
                "a host directory shared into the VM (virtiofs/9p): nine",
                "a host device passed through",
                "memory shared with the host or other VMs",
                "a USB device redirected from outside");
        assertThat(DomainXml.sharedDevices(LIVE, List.of("vda", "vdb"))).as("its ISO is its own, read-only: it stays").isEmpty();
        assertThat(DomainXml.sharedDevices(LIVE, List.of("vda"))).as("a writable disk left out of the snapshot is named")
                .containsExactly("disk vdb is a writable disk of the live VM the run does not snapshot");

        String shadow = DomainXml.shadowDefinition(shared, "web1-shadow", Map.of("vda", Path.of("/img/shadow.qcow2"),
                "vdb", Path.of("/img/shadow-vdb.qcow2")), "sp-isolated", null);
        assertThat(DomainXml.disks(shadow)).extracting(DomainXml.Disk::target).containsExactly("vda", "vdb", "sda");
        assertThat(shadow).doesNotContain("<filesystem", "<hostdev", "<shmem", "<redirdev", "cluster-shared", "/dev/sdz",
                "/srv/shared-data", "vfio", "bus='0x04'", "managed=");
        assertThat(shadow).contains("<source network=\"sp-isolated\"/>");
        assertThat(DomainXml.sharedDevices(shadow, List.of("vda", "vdb"))).as("the shadow shares nothing").isEmpty();
    }
}
