package dev.shadowpatch.virt;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/** Chain records as JSON files, one per run, written atomically (temp file + rename). */
public class ChainStore {
    private static final Pattern RUN_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

    private final Path dir;
    private final ObjectMapper json = new ObjectMapper().registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS).enable(SerializationFeature.INDENT_OUTPUT);

    public ChainStore(Path dir) {
        this.dir = dir;
    }

    public static String checkRunId(String runId) {
        if (runId == null || !RUN_ID.matcher(runId).matches()) {
            throw new HypervisorException("bad run id '" + runId + "': letters, digits, '.', '_' and '-' only, at most 64");
        }
        return runId;
    }

    public synchronized Optional<ChainRecord> load(String runId) {
        Path f = file(runId);
        if (!Files.exists(f)) {
            return Optional.empty();
        }
        try {
            return Optional.of(json.readValue(f.toFile(), ChainRecord.class));
        } catch (IOException e) {
            throw new HypervisorException("chain record " + f + " is unreadable: " + e.getMessage(), e);
        }
    }

    public synchronized void save(ChainRecord r) {
        Path f = file(r.runId);
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, r.runId + ".", ".tmp");
            json.writeValue(tmp.toFile(), r);
            Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new HypervisorException("cannot write chain record " + f + ": " + e.getMessage(), e);
        }
    }

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
        return dir.resolve(checkRunId(runId) + ".json");
    }
}
