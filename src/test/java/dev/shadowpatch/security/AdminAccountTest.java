package dev.shadowpatch.security;

import dev.shadowpatch.testing.AppNode;
import dev.shadowpatch.testing.CapabilityLog;
import dev.shadowpatch.testing.Rest;
import org.camunda.bpm.engine.AuthorizationService;
import org.camunda.bpm.engine.FilterService;
import org.camunda.bpm.engine.IdentityService;
import org.camunda.bpm.engine.TaskService;
import org.camunda.bpm.engine.authorization.Groups;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.mock.env.MockEnvironment;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The first admin: no fixed default credentials. Without {@code SP_ADMIN_PASSWORD} a random password
 * is generated into an owner-only file under the data directory and the log names the file, never
 * the password; {@code SP_ADMIN_USER}/{@code SP_ADMIN_PASSWORD} create that admin instead.
 * Each case starts the application itself, so its whole start-up log is captured.
 */
@ExtendWith(OutputCaptureExtension.class)
class AdminAccountTest {
    @TempDir Path dataDir;

    private List<String> args(String database, String... more) {
        List<String> args = new ArrayList<>(List.of(
                "--spring.profiles.active=processtest",
                "--spring.datasource.url=jdbc:h2:mem:" + database + ";DB_CLOSE_DELAY=-1",
                "--shadowpatch.data-dir=" + dataDir,
                "--server.port=0"));
        args.addAll(List.of(more));
        return args;
    }

    @Test
    void withoutAPasswordARandomOneIsWrittenToAnOwnerOnlyFileAndNeverLogged(CapturedOutput output) throws Exception {
        assumeTrue(System.getenv("SP_ADMIN_PASSWORD") == null && System.getenv("SP_ADMIN_USER") == null,
                "the environment sets the admin account");
        String database = "admin-generated-" + UUID.randomUUID();
        Path file = dataDir.resolve("admin-password");
        String password;
        try (AppNode app = AppNode.start("admin-test", new CapabilityLog(), WebApplicationType.SERVLET, args(database))) {
            assertThat(file).exists();
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
            password = Files.readString(file).strip();
            assertThat(password).hasSizeGreaterThanOrEqualTo(20).isNotEqualTo("admin");

            IdentityService identity = app.engine().getIdentityService();
            assertThat(identity.checkPassword("admin", password)).isTrue();
            assertThat(identity.createUserQuery().userId("admin").memberOfGroup(Groups.CAMUNDA_ADMIN).count()).isEqualTo(1);
            assertThat(Rest.as(app.port(), "admin", password).get("/user").status()).as("the generated password logs in").isEqualTo(200);
            assertThat(Rest.as(app.port(), "admin", "admin").get("/user").status()).isEqualTo(401);
            // Camunda's login throttling now locks 'admin' for a few seconds; the restart below must not race it.
            identity.unlockUser("admin");

            assertThat(output.getAll()).as("the log names the file")
                    .contains("generated a password for admin user 'admin'").contains(file.toAbsolutePath().toString());
            assertThat(output.getAll()).as("the log never shows the password").doesNotContain(password);
        }

        // A restart on the same database keeps the admin and its password: no new password, no new file.
        int logSoFar = output.getAll().length();
        var written = Files.getLastModifiedTime(file);
        try (AppNode app = AppNode.start("admin-test", new CapabilityLog(), WebApplicationType.SERVLET, args(database))) {
            assertThat(Files.readString(file).strip()).isEqualTo(password);
            assertThat(Files.getLastModifiedTime(file)).isEqualTo(written);
            assertThat(app.engine().getIdentityService().checkPassword("admin", password)).isTrue();
            String restartLog = output.getAll().substring(logSoFar);
            assertThat(restartLog).contains("Started").doesNotContain("generated a password");
        }
        assertThat(output.getAll()).doesNotContain(password);
    }

    @Test
    void spAdminUserAndPasswordCreateThatAdminAndNoPasswordFile(CapturedOutput output) {
        String password = "Chief-" + UUID.randomUUID();
        try (AppNode app = AppNode.start("admin-test", new CapabilityLog(), WebApplicationType.SERVLET,
                args("admin-given-" + UUID.randomUUID(), "--SP_ADMIN_USER=chief", "--SP_ADMIN_PASSWORD=" + password))) {
            IdentityService identity = app.engine().getIdentityService();
            assertThat(identity.checkPassword("chief", password)).isTrue();
            assertThat(identity.createUserQuery().userId("chief").memberOfGroup(Groups.CAMUNDA_ADMIN).count()).isEqualTo(1);
            assertThat(identity.createUserQuery().userId("admin").count()).as("no other admin account").isZero();
            assertThat(dataDir.resolve("admin-password")).doesNotExist();
            assertThat(Rest.as(app.port(), "chief", password).get("/user").status()).isEqualTo(200);
            assertThat(output.getAll()).contains("Created user 'chief' in group 'camunda-admin'").doesNotContain(password);

            // A blank SP_ADMIN_PASSWORD (e.g. "SP_ADMIN_PASSWORD: ${SP_ADMIN_PASSWORD:-}" in a compose file)
            // counts as none: a generated password, not an admin with an empty one.
            Path otherDir = dataDir.resolve("blank");
            new IdentityBootstrap(identity, app.bean(AuthorizationService.class), app.bean(FilterService.class),
                    app.bean(TaskService.class),
                    new MockEnvironment().withProperty("SP_ADMIN_USER", "blank").withProperty("SP_ADMIN_PASSWORD", " "),
                    otherDir).bootstrap();
            Path generated = otherDir.resolve("admin-password");
            assertThat(generated).as("a password was generated for the blank one").exists();
            assertThat(identity.checkPassword("blank", Files.readString(generated).strip())).isTrue();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
