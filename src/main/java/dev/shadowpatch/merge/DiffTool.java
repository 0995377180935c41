package dev.shadowpatch.merge;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Runs a GNU diffutils program (diff3 for line merges, diff for the approval's diffs) on contents
 * written to a private 0700 temporary directory: guest contents never reach a shared path, and the
 * program reads them by the names given, in that directory. Its output goes to a file, so a program
 * that hangs is bounded by the timeout (a pipe read would block).
 */
final class DiffTool {
    /** Reads what the program wrote (its exit code, its output file); null: no result. */
    interface OutputReader<T> {
        T read(int exitCode, Path output) throws IOException;
    }

    private DiffTool() {}

    /**
     * @param argv    the program and its arguments (file arguments: names of {@code inputs})
     * @param inputs  name -> content, written beside each other
     * @return the reader's result, or empty when the program ran longer than the timeout (it is killed)
     */
    static <T> Optional<T> run(List<String> argv, Map<String, byte[]> inputs, Duration timeout, OutputReader<T> reader)
            throws IOException {
        Path dir = Files.createTempDirectory("sp-diff-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        List<Path> written = new ArrayList<>();
        Path out = dir.resolve(".out");
        try {
            for (var in : inputs.entrySet()) {
                written.add(Files.write(dir.resolve(in.getKey()), in.getValue()));
            }
            Process p = new ProcessBuilder(argv).directory(dir.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                return Optional.empty();
            }
            return Optional.ofNullable(reader.read(p.exitValue(), out));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } finally {
            for (Path f : written) Files.deleteIfExists(f);
            Files.deleteIfExists(out);
            Files.deleteIfExists(dir);
        }
    }
}
