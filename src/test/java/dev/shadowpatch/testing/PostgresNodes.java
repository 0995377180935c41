package dev.shadowpatch.testing;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Command-line arguments of an app node on the {@code postgres} profile against an embedded PostgreSQL. */
public final class PostgresNodes {
    /** The admin password given to every node (the admin account is not what these tests are about). */
    public static final String ADMIN_PASSWORD = "pg-admin-" + java.util.UUID.randomUUID();

    /** The job executor's first wait after an acquisition that found less than it asked for, and its longest. */
    public static final int IDLE_WAIT_MILLIS = 100;
    public static final int MAX_IDLE_WAIT_MILLIS = 250;

    private PostgresNodes() {}

    /**
     * The node as production configures it (application-postgres.yml through SP_DB_URL/SP_DB_USER),
     * with a job executor that polls often so a test does not wait for its idle back-off. Camunda counts
     * an acquisition that found fewer jobs than it asked for as idle and backs off (here 100, 200, 250 ms):
     * a timer that falls due (a window opening) or a job another node left (its lock expired) is picked up
     * within a quarter second, not a second. A hint (a job this node just created) wakes it at once anyway.
     */
    public static List<String> args(EmbeddedPostgres pg, Path dataDir, String hostname, String... more) {
        List<String> args = new ArrayList<>(List.of(
                "--spring.profiles.active=postgres",
                "--SP_DB_URL=jdbc:postgresql://localhost:" + pg.getPort() + "/postgres",
                "--SP_DB_USER=postgres",
                "--SP_SECRETS_DIR=" + directory(dataDir.resolve("secrets")), // secret files: none unless a test writes one
                "--SP_ADMIN_PASSWORD=" + ADMIN_PASSWORD,
                "--shadowpatch.data-dir=" + dataDir.resolve(hostname),
                "--camunda.bpm.job-execution.enabled=true",
                "--camunda.bpm.job-execution.wait-time-in-millis=" + IDLE_WAIT_MILLIS,
                "--camunda.bpm.job-execution.max-wait=" + MAX_IDLE_WAIT_MILLIS,
                "--camunda.bpm.generic-properties.properties.hostname=" + hostname,
                "--spring.datasource.hikari.maximum-pool-size=5",
                "--logging.level.org.camunda.bpm.engine.jobexecutor=ERROR"));
        args.addAll(List.of(more));
        return args;
    }

    private static Path directory(Path dir) {
        try {
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
