package dev.shadowpatch.restart;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class RunningCodeTest {
    @Test
    void theTextFormRoundTrips() {
        RunningCode code = RunningCode.parse("U\tinit.scope\t/usr/lib/systemd/systemd\nU\tnginx.service\t/usr/sbin/nginx (deleted)\n"
                + "U\tnginx.service\t/usr/lib/a b.so\nF\t/usr/lib/systemd/systemd\t2049\t10\t1700000000\t91000\nF\t/usr/lib/a b.so\t2049\t11\t1\t2\n");
        assertThat(RunningCode.parse(code.toText())).isEqualTo(code);
        assertThat(code.pathsByUnit().get("nginx.service")).containsExactly("/usr/lib/a b.so", "/usr/sbin/nginx (deleted)");
        assertThat(code.livePaths()).containsExactly("/usr/lib/systemd/systemd", "/usr/lib/a b.so");
        assertThat(code.malformedLines()).isZero();
    }

    @Test
    void malformedLinesAreCountedNotTrusted() {
        RunningCode code = RunningCode.parse("U\tonly-two\nF\t/x\t1\t2\tthree\t4\ngarbage\n");
        assertThat(code.pathsByUnit()).isEmpty();
        assertThat(code.files()).isEmpty();
        assertThat(code.malformedLines()).isEqualTo(3);
    }

    /** The capture script itself, run on this host's /proc: this test's own JVM is among what it finds. */
    @Test
    void theCaptureScriptReadsARealProcTable() throws Exception {
        Process p = new ProcessBuilder("sh", "-c", RunningCode.CAPTURE).redirectErrorStream(false).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).isZero();
        RunningCode code = RunningCode.parse(out);
        String java = Path.of(ProcessHandle.current().info().command().orElseThrow()).toRealPath().toString();
        assertThat(code.pathsByUnit().values()).anySatisfy(paths -> assertThat(paths).contains(java));
        assertThat(code.files()).containsKey(java);
        FileState state = code.files().get(java);
        assertThat(state.inode()).isEqualTo(((Number) Files.getAttribute(Path.of(java), "unix:ino")).longValue());
        assertThat(state.size()).isEqualTo(Files.size(Path.of(java)));
        // a library this JVM maps is there too
        assertThat(code.files().keySet()).anyMatch(f -> f.contains("libjvm.so"));
    }

    @Test
    void theRestatScriptStatsTheListedPathsAndDropsTheMissing(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path a = Files.writeString(dir.resolve("a file"), "x");
        Path list = Files.write(dir.resolve("list"), List.of(a.toString(), dir.resolve("gone").toString()));
        Process p = new ProcessBuilder("sh", "-c", RunningCode.restatCommand(list.toString())).start();
        Map<String, FileState> states = RunningCode.parseStates(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        assertThat(p.waitFor()).isZero();
        assertThat(states).containsOnlyKeys(a.toString());
        assertThat(states.get(a.toString()).size()).isEqualTo(1);
        assertThat(list).doesNotExist(); // the list is removed
    }
}
