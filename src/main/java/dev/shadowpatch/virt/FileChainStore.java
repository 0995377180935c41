package dev.shadowpatch.virt;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Chain records as JSON files, one per run, written atomically (temp file + rename). For the merge
 * CLI and the tests that drive a hypervisor directly; the application keeps them in its database
 * ({@link JdbcChainStore}), so any node can retry or roll back a run another node began.
 */
public class FileChainStore implements ChainStore {
    private final Path dir;

    public FileChainStore(Path dir) {
        this.dir = dir;
    }

    @Override
    public synchronized Optional<ChainRecord> load(String runId) {
        Path f = file(runId);
        if (!Files.exists(f)) {
            return Optional.empty();
        }
        try {
            return Optional.of(ChainRecord.fromJson(Files.readString(f)));
        } catch (IOException e) {
            throw new HypervisorException("chain record " + f + " is unreadable: " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized void save(ChainRecord r) {
        Path f = file(r.runId());
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, r.runId() + ".", ".tmp");
            Files.writeString(tmp, r.toJson());
            Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new HypervisorException("cannot write chain record " + f + ": " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized List<ChainRecord> all() {
        List<ChainRecord> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (var s = Files.newDirectoryStream(dir, "*.json")) {
            for (Path p : s) {
                String n = p.getFileName().toString();
                load(n.substring(0, n.length() - 5)).ifPresent(out::add);
            }
        } catch (IOException e) {
            throw new HypervisorException("cannot list chain records in " + dir + ": " + e.getMessage(), e);
        }
        return out;
    }

    private Path file(String runId) {
        return dir.resolve(ChainStore.checkRunId(runId) + ".json");
    }
}
