package dev.shadowpatch.virt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.libvirt.DomainInfo.DomainState;

/**
 * Lifecycle and input checking against libvirt's {@code test:///} driver (a fresh simulated host per
 * connection; it cannot take disk-only snapshots, those run in the @Tag("vm") tests).
 */
class LibvirtHypervisorTestDriverTest {

    @TempDir
    Path tmp;
    LibvirtHypervisor hv;
    LibvirtProperties props;

    @BeforeEach
    void setUp() throws Exception {
        Path node = tmp.resolve("node.xml");
        try (var in = getClass().getResourceAsStream("/libvirt/test-node.xml")) {
            Files.copy(in, node);
        }
        props = new LibvirtProperties();
        props.setUri("test://" + node);
        props.setStateDir(tmp.resolve("chains"));
        props.setImageDir(tmp.resolve("images"));
        props.setStateTimeout(Duration.ofSeconds(5));
        hv = new LibvirtHypervisor(props);
    }

    @AfterEach
    void tearDown() {
        hv.close();
    }

    @Test
    void lifecycleShutdownAndStart() {
        assertThat(hv.isRunning("live")).isTrue();
        assertThat(hv.shutdown("live", Duration.ofSeconds(5))).isEqualTo(PowerOff.CLEAN);
        assertThat(hv.isRunning("live")).isFalse();
        assertThat(hv.exists("live")).as("shut off, still defined").isTrue();
        assertThat(hv.state("live")).isEqualTo(DomainState.VIR_DOMAIN_SHUTOFF);
        assertThat(hv.shutdown("live", Duration.ofSeconds(5))).as("idempotent, and says so").isEqualTo(PowerOff.ALREADY_OFF);
        hv.start("live");
        assertThat(hv.isRunning("live")).isTrue();
        hv.start("live"); // idempotent
        assertThat(hv.isRunning("nope")).isFalse();
        assertThat(hv.exists("nope")).isFalse();
    }

    @Test
    void aVmNotOffWithinTheGracePeriodIsForcedOffAndReportedAsForced() {
        // no grace at all: the deadline has passed at the first look, so the VM is destroyed, not asked
        assertThat(hv.shutdown("live", Duration.ZERO)).isEqualTo(PowerOff.FORCED);
        assertThat(hv.state("live")).isEqualTo(DomainState.VIR_DOMAIN_SHUTOFF);
        assertThat(hv.shutdown("live", Duration.ZERO)).isEqualTo(PowerOff.ALREADY_OFF);
        assertThat(PowerOff.parse("forced")).isEqualTo(PowerOff.FORCED);
        assertThat(PowerOff.parse("ALREADY_OFF")).as("the constant's name parses too").isEqualTo(PowerOff.ALREADY_OFF);
    }

    @Test
    void unknownVmSaysWhatAndWhereAndLeavesNothing() {
        assertThatThrownBy(() -> hv.createShadow("nope", "r1"))
                .isInstanceOf(HypervisorException.class)
                .hasMessageContaining("VM nope not found on " + props.getUri());
        assertThatThrownBy(() -> hv.start("nope")).hasMessageContaining("VM nope not found");
        assertNoRecords();
    }

    @Test
    void vmNotRunningIsRefusedBeforeAnythingIsMade() {
        hv.shutdown("live", Duration.ofSeconds(5));
        assertThatThrownBy(() -> hv.createShadow("live", "r1"))
                .isInstanceOf(HypervisorException.class)
                .hasMessageContaining("VM live on " + props.getUri() + " is not running (state shutoff)");
        assertNoRecords();
        assertThat(hv.exists("live-shadow-r1")).isFalse();
    }

    @Test
    void aBlockDeviceDiskIsRefusedAtTheStartAndAtTheSnapshotWithItsReason() {
        assertThat(hv.checkPatchable("blockvm")).containsExactly("disk vda of VM blockvm is the host block device /dev/vg0/blockvm: "
                + "a shadow needs an external snapshot overlay on a qcow2 or raw file disk");
        assertThatThrownBy(() -> hv.createShadow("blockvm", "r1"))
                .isInstanceOf(HypervisorException.class)
                .hasMessageContaining("disk vda of VM blockvm is the host block device /dev/vg0/blockvm")
                .hasMessageContaining("(on " + props.getUri() + ")");
        assertNoRecords();
    }

    /**
     * Every disk of its own is snapshotted, so each must be a qcow2 or raw file: a writable block
     * device or a vmdk among them refuses the run, each named; a shareable disk is not the VM's own
     * (not snapshotted, its shadow does not get it) and refuses nothing.
     */
    @Test
    void everyDiskOfItsOwnMustBePatchableAndEachThatIsNotIsNamed() {
        assertThat(hv.snapshotDisks("datavm").keySet()).containsExactly("vda", "vdb", "vdd");
        assertThat(hv.checkPatchable("datavm")).containsExactly(
                "disk vdb of VM datavm is the host block device /dev/vg0/datavm-db: "
                        + "a shadow needs an external snapshot overlay on a qcow2 or raw file disk",
                "disk vdd of VM datavm (/var/lib/libvirt/images/datavm-logs.vmdk) is vmdk: a shadow is made of a qcow2 or raw file disk");
        assertThat(hv.sharedDevices("datavm")).containsExactly("disk vdc is shareable (another VM may use it)");
        assertThatThrownBy(() -> hv.createShadow("datavm", "r1")).hasMessageContaining("disk vdb of VM datavm")
                .hasMessageContaining("disk vdd of VM datavm");
        assertNoRecords();
    }

    @Test
    void badRunIdIsRefused() {
        assertThatThrownBy(() -> hv.createShadow("live", "../../etc")).hasMessageContaining("bad run id");
    }

    @Test
    void libvirtUnreachableSaysWhere() {
        props.setUri("qemu+unix:///system?socket=" + tmp.resolve("no-such.sock"));
        try (LibvirtHypervisor down = new LibvirtHypervisor(props)) {
            assertThatThrownBy(() -> down.isRunning("live"))
                    .isInstanceOf(HypervisorException.class)
                    .hasMessageContaining("libvirt at qemu+unix:///system?socket=")
                    .hasMessageContaining("is unreachable");
        }
    }

    @Test
    void constructionDoesNotTouchLibvirt() {
        props.setUri("qemu+unix:///system?socket=" + tmp.resolve("no-such.sock"));
        new LibvirtHypervisor(props).close(); // no exception: connects on first use only
    }

    @Test
    void isolatedNetworkIsCreatedOnceAndStarted() {
        hv.ensureIsolatedNetwork();
        hv.ensureIsolatedNetwork();
    }

    @Test
    void mergeStepsNeedARecordAndAShutOffVm() {
        ShadowClone unknown = new ShadowClone("r9", "live", "live-shadow-r9", "vda", Path.of("/b"), Path.of("/l"),
                Path.of("/s"), null);
        assertThatThrownBy(() -> hv.createMergeOverlay(unknown, java.util.Set.of("vda"))).hasMessageContaining("no chain record for run r9");
        ChainRecord r = new ChainRecord(new ShadowClone("r9", "live", "live-shadow-r9", "vda", Path.of("/b"),
                Path.of("/var/lib/libvirt/images/live.qcow2"), Path.of("/s"), null));
        r.done.add(ChainRecord.Step.SNAPSHOT_TAKEN);
        new FileChainStore(props.getStateDir()).save(r);
        assertThatThrownBy(() -> hv.createMergeOverlay(r.toClone(), java.util.Set.of("vda")))
                .hasMessageContaining("VM live on " + props.getUri() + " must be shut off before the merge overlay is created");
        assertThatThrownBy(() -> hv.switchToMergeOverlay(r.toClone())).hasMessageContaining("has no merge overlay");
    }

    @Test
    void oneOpenRunPerVm() {
        ChainRecord r = new ChainRecord(new ShadowClone("r1", "live", "live-shadow-r1", "vda", Path.of("/img/live.qcow2"),
                Path.of("/img/live-r1-live.qcow2"), Path.of("/img/live-shadow-r1.qcow2"), null));
        r.done.add(ChainRecord.Step.SNAPSHOT_TAKEN);
        new FileChainStore(props.getStateDir()).save(r);
        assertThatThrownBy(() -> hv.createShadow("live", "r2"))
                .isInstanceOf(HypervisorException.class)
                .hasMessageContaining("VM live on " + props.getUri() + " already has an open patch run r1");
    }

    private void assertNoRecords() {
        Path dir = props.getStateDir();
        try {
            assertThat(Files.exists(dir) ? Files.list(dir).toList() : List.of()).isEmpty();
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }
}
