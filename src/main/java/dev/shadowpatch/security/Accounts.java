package dev.shadowpatch.security;

import org.camunda.bpm.engine.IdentityService;
import org.camunda.bpm.engine.identity.User;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.EnumSet;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.TRUNCATE_EXISTING;
import static java.nio.file.StandardOpenOption.WRITE;

/** Users from the environment: a name and a password, never a fixed default, never logged. */
final class Accounts {
    private static final Logger log = LoggerFactory.getLogger(Accounts.class);

    private Accounts() {}

    /** Creates the user, or resets its password when one is given; adds it to the group. */
    static void ensure(IdentityService identity, String userId, String password, String group) {
        User user = identity.createUserQuery().userId(userId).singleResult();
        if (user == null) {
            user = identity.newUser(userId);
            named(user, group);
            user.setPassword(password);
            identity.saveUser(user);
            log.info("Created user '{}' in group '{}'", userId, group);
        } else if (password != null || user.getFirstName() == null) {
            named(user, group);
            if (password != null) {
                user.setPassword(password);
            }
            identity.saveUser(user);
        }
        if (identity.createUserQuery().userId(userId).memberOfGroup(group).count() == 0) {
            identity.createMembership(userId, group);
        }
    }

    /**
     * A user made here has no name of its own: the webapps' header would read "null null". The name
     * becomes the user id and, as the last name, the group ("otto (operators)"); a name set in Admin stays.
     */
    private static void named(User user, String group) {
        if (user.getFirstName() == null && user.getLastName() == null) {
            user.setFirstName(user.getId());
            user.setLastName("(" + group + ")");
        }
    }

    static String randomPassword() {
        byte[] bytes = new byte[18];
        new SecureRandom().nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** Writes a generated password to an owner-only file; the log names the file, never the password. */
    static void writeSecret(Path file, String secret) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.deleteIfExists(file);
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(file, secret + "\n", EnumSet.of(WRITE, TRUNCATE_EXISTING, CREATE).toArray(new java.nio.file.OpenOption[0]));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the generated admin password to " + file, e);
        }
    }
}
