package dev.shadowpatch.lab;

import static org.assertj.core.api.Assertions.assertThat;

import dev.shadowpatch.guest.GuestTarget;
import dev.shadowpatch.guest.JschGuestShell;
import dev.shadowpatch.virt.DomainXml;
import dev.shadowpatch.virt.LibvirtHypervisor;
import dev.shadowpatch.virt.LibvirtProperties;
import dev.shadowpatch.virt.ShadowClone;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * A live VM with UEFI firmware (OVMF, firmware autoselection) and an emulated TPM 2.0 (swtpm) on
 * the real lab: its shadow boots on a copy of the live VM's UEFI variable store and TPM state, not
 * on fresh ones (a fresh TPM would not open what the live VM sealed), and cleanup removes both copies.
 */
@Tag("vm")
@Timeout(value = 20, unit = java.util.concurrent.TimeUnit.MINUTES)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FirmwareStateVmTest {
    static final String VM = "sp-it-fw";
    static final String RUN = "fw1";
    static final Duration BOOT = Duration.ofMinutes(5);
    static final Duration CMD = Duration.ofSeconds(60);
    /** A UEFI variable the live VM sets before the snapshot (non-volatile, boot and runtime access). */
    static final String VARIABLE = "ShadowPatchTest-5ad0a7c4-5e1f-4b7a-9c3d-2f1e0d9c8b7a";
    static final Path SWTPM_LOGS = Path.of("/var/log/swtpm/libvirt/qemu");

    LabVm lab;
    LibvirtProperties lp;
    LibvirtHypervisor hv;
    JschGuestShell shell;
    ShadowClone clone;
    String liveUuid;
    String shadowUuid;

    @BeforeAll
    void bootUefiLabVmWithTpm() throws Exception {
        lab = LabVm.fresh(VM, "--uefi", "--tpm");
        lp = LabVm.libvirtProperties();
        hv = new LibvirtHypervisor(lp);
        shell = new JschGuestShell(lab.guestProperties());
        liveUuid = LabVm.virsh(hv.uri(), "domuuid", VM).strip();
    }

    @AfterAll
    void removeEverything() {
        try {
            LabVm.cleanupAfterFailure(hv, clone);
            if (hv != null) {
                hv.close();
            }
        } finally {
            LabVm.delete(VM);
        }
    }

    @Test
    @Order(1)
    void liveVmRunsOnUefiWithATpm() {
        GuestTarget live = lab.target();
        assertThat(shell.check(live, "cat /sys/class/tpm/tpm0/tpm_version_major", CMD).stdout().strip()).isEqualTo("2");
        shell.check(live, "printf '\\007\\000\\000\\000set-in-live' > /sys/firmware/efi/efivars/" + VARIABLE, CMD);
        assertThat(shell.check(live, "cat /sys/firmware/efi/efivars/" + VARIABLE + " | tail -c +5", CMD).stdout()).isEqualTo("set-in-live");
        assertThat(lp.getSwtpmStateDir().resolve(liveUuid)).isDirectory();
    }

    @Test
    @Order(2)
    void shadowBootsOnCopiesOfTheLiveVmsVariableStoreAndTpmState() throws Exception {
        String shadowName = VM + "-shadow-" + RUN;
        Files.deleteIfExists(SWTPM_LOGS.resolve(shadowName + "-swtpm.log")); // left by an earlier run of this test
        clone = hv.createShadow(VM, RUN);
        assertThat(clone.shadowVm()).isEqualTo(shadowName);
        String shadowXml = LabVm.virsh(hv.uri(), "dumpxml", "--inactive", clone.shadowVm());
        shadowUuid = DomainXml.uuid(shadowXml);
        Path store = lp.getImageDir().resolve(clone.shadowVm() + "_VARS.fd");
        assertThat(DomainXml.nvram(shadowXml)).contains(store.toString());
        assertThat(store).isRegularFile();
        assertThat(shadowUuid).isNotEqualTo(liveUuid);
        assertThat(lp.getSwtpmStateDir().resolve(shadowUuid).resolve("tpm2")).isDirectory();

        String ip = hv.waitForAddress(clone.shadowVm(), BOOT);
        GuestTarget shadow = GuestTarget.direct(ip, "root").withHostKeyAlias(VM); // a clone presents the live VM's host key
        LabVm.awaitSsh(shell, shadow, BOOT);
        // the variable the live VM set is in the shadow's store: the store was copied, not made anew
        assertThat(shell.check(shadow, "cat /sys/firmware/efi/efivars/" + VARIABLE + " | tail -c +5", CMD).stdout()).isEqualTo("set-in-live");
        assertThat(shell.check(shadow, "cat /sys/class/tpm/tpm0/tpm_version_major", CMD).stdout().strip()).isEqualTo("2");
        // libvirt manufactures a TPM (new endorsement key) only when a domain has no state: the shadow's was copied
        Path shadowTpmLog = SWTPM_LOGS.resolve(shadowName + "-swtpm.log");
        String tpmLog = Files.exists(shadowTpmLog) ? Files.readString(shadowTpmLog) : "";
        assertThat(tpmLog).doesNotContain("manufacturing");
        assertThat(Files.readString(SWTPM_LOGS.resolve(VM + "-swtpm.log"))).contains("manufacturing");
    }

    @Test
    @Order(3)
    void cleanupRemovesTheShadowsVariableStoreAndTpmState() {
        hv.cleanup(clone);
        assertThat(hv.exists(clone.shadowVm())).isFalse();
        assertThat(lp.getImageDir().resolve(clone.shadowVm() + "_VARS.fd")).doesNotExist();
        assertThat(lp.getSwtpmStateDir().resolve(shadowUuid)).doesNotExist();
        assertThat(lp.getSwtpmStateDir().resolve(liveUuid)).as("the live VM's TPM state stays").isDirectory();
        assertThat(hv.isRunning(VM)).isTrue();
        assertThat(shell.check(lab.target(), "cat /sys/firmware/efi/efivars/" + VARIABLE + " | tail -c +5", CMD).stdout()).isEqualTo("set-in-live");
        clone = null;
    }
}
