package dev.shadowpatch.virt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shadowpatch.disk.DiskConfiguration;
import dev.shadowpatch.disk.DiskExposer;
import dev.shadowpatch.disk.DiskProperties;
import dev.shadowpatch.guest.ChangeCapture;
import dev.shadowpatch.guest.GuestConfiguration;
import dev.shadowpatch.guest.GuestProperties;
import dev.shadowpatch.guest.GuestShell;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.datasource.DriverManagerDataSource;
import org.springframework.transaction.PlatformTransactionManager;

/** The capability beans build from properties without touching libvirt, SSH or QEMU. */
class CapabilityWiringTest {

    private static final DriverManagerDataSource DB =
            new DriverManagerDataSource("jdbc:h2:mem:wiring-" + java.util.UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "");

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withUserConfiguration(VirtConfiguration.class, GuestConfiguration.class, DiskConfiguration.class)
            .withBean(JdbcTemplate.class, () -> new JdbcTemplate(DB))
            .withBean(PlatformTransactionManager.class, () -> new DataSourceTransactionManager(DB));

    @Test
    void defaults() {
        runner.run(ctx -> {
            assertThat(ctx).hasSingleBean(Hypervisor.class).hasSingleBean(GuestShell.class)
                    .hasSingleBean(DiskExposer.class).hasSingleBean(ChangeCapture.class);
            assertThat(ctx.getBean(ChainStore.class)).as("chain records in the shared database").isInstanceOf(JdbcChainStore.class);
            LibvirtProperties lp = ctx.getBean(LibvirtProperties.class);
            assertThat(lp.getUri()).isEqualTo("qemu:///system");
            assertThat(lp.getImageDir()).isEqualTo(Path.of("/var/lib/libvirt/images/shadowpatch"));
            assertThat(lp.getStateDir()).isEqualTo(Path.of("/var/lib/shadowpatch/chains"));
            assertThat(lp.getShadowNetwork()).isEqualTo("shadowpatch-isolated");
            GuestProperties gp = ctx.getBean(GuestProperties.class);
            assertThat(gp.getPrivateKey()).isEqualTo(Path.of("/var/lib/shadowpatch/ssh/id_ed25519"));
            assertThat(gp.getKnownHosts()).isEqualTo(Path.of("/var/lib/shadowpatch/ssh/known_hosts"));
            assertThat(ctx.getBean(DiskProperties.class).getWorkDir()).isEqualTo(Path.of("/run/shadowpatch/disk"));
        });
    }

    @Test
    void startsWithoutLibvirtAndFailsClearlyOnFirstUse() {
        runner.withPropertyValues("shadowpatch.libvirt.uri=qemu+unix:///system?socket=/nonexistent/libvirt-sock",
                        "shadowpatch.libvirt.shutdown-grace=2m", "shadowpatch.guest.connect-timeout=5s")
                .run(ctx -> {
                    assertThat(ctx).hasNotFailed();
                    assertThat(ctx.getBean(LibvirtProperties.class).getShutdownGrace()).isEqualTo(Duration.ofMinutes(2));
                    assertThat(ctx.getBean(GuestProperties.class).getConnectTimeout()).isEqualTo(Duration.ofSeconds(5));
                    Hypervisor hv = ctx.getBean(Hypervisor.class);
                    assertThatThrownBy(() -> hv.isRunning("web1"))
                            .isInstanceOf(HypervisorException.class)
                            .hasMessageContaining("libvirt at qemu+unix:///system?socket=/nonexistent/libvirt-sock is unreachable");
                });
    }
}
