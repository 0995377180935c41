package dev.shadowpatch.online;

import dev.shadowpatch.merge.DetectInfo;
import dev.shadowpatch.merge.Entry;
import dev.shadowpatch.merge.MergePlan;
import dev.shadowpatch.merge.Op;
import dev.shadowpatch.merge.PathFacts;
import dev.shadowpatch.merge.Rule;
import dev.shadowpatch.merge.fs.FileType;
import dev.shadowpatch.restart.RestartClass;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The online plan's decision table: which operations the in-guest applier runs, and what keeps a patch off it. */
class OnlinePlanTest {
    static Entry file(long ino, long mtime) {
        return new Entry(FileType.FILE, 0644, 0, 0, 3, null, null, null, Map.of(), "abc", ino, 1, mtime, 5);
    }

    static Entry dir(long ino, Map<String, String> xattrs) {
        return new Entry(FileType.DIR, 0755, 0, 0, 0, null, null, null, xattrs, null, ino, 2, 100, 0);
    }

    static Entry dir(long ino) {
        return dir(ino, Map.of());
    }

    static Entry of(FileType t, long ino) {
        return new Entry(t, 0644, 0, 0, 0, t == FileType.SYMLINK ? "x" : null, null, null, Map.of(), null, ino, 1, 7, 0);
    }

    static Op op(String path, Op.Action action, Entry base, Entry live, Entry shadow) {
        return new Op(path, action, Rule.TAKE_SHADOW_REPLACE, null, null, null, 0, null,
                PathFacts.fromEntries(path, base, live, shadow, false), null, null);
    }

    static MergePlan plan(Op... ops) {
        return new MergePlan(List.of(ops), new DetectInfo(0, true, 0, List.of(), List.of(), List.of(), 0, 0));
    }

    static Stream<Arguments> table() {
        return Stream.of(
                // action, live, shadow -> steps (verb expect) or the blocker
                Arguments.of("replace a file", Op.Action.WRITE, file(11, 1), file(12, 2), "put 32768:11:3:1.000000005", null),
                Arguments.of("create a file", Op.Action.WRITE, null, file(12, 2), "put -", null),
                Arguments.of("create a symlink", Op.Action.WRITE, null, of(FileType.SYMLINK, 3), "put -", null),
                Arguments.of("create a fifo", Op.Action.WRITE, null, of(FileType.FIFO, 3), "put -", null),
                Arguments.of("a file's metadata: staged whole", Op.Action.META, file(11, 1), file(12, 1), "put 32768:11:3:1.000000005", null),
                Arguments.of("create a directory", Op.Action.WRITE, null, dir(5), "mkdir -|attrs d 100.000000000", null),
                Arguments.of("a directory's mode", Op.Action.META, dir(4), dir(5), "attrs 16384:4 100.000000000", null),
                Arguments.of("delete a file", Op.Action.DELETE, file(11, 1), null, "delete 32768:11:3:1.000000005", null),
                Arguments.of("delete a directory", Op.Action.DELETE, dir(4), null, "delete 16384:4", null),
                Arguments.of("nothing to do", Op.Action.NONE, file(11, 1), file(11, 1), "", null),
                Arguments.of("undecided conflict", Op.Action.ASK, file(11, 1), file(12, 2), "", OnlineBlocker.UNDECIDED_CONFLICT),
                Arguments.of("three-way merge", Op.Action.MERGE3, file(11, 1), file(12, 2), "", OnlineBlocker.THREE_WAY_MERGE),
                Arguments.of("hybrid", Op.Action.HYBRID, file(11, 1), file(12, 2), "", OnlineBlocker.HYBRID_COPY),
                Arguments.of("file becomes directory", Op.Action.WRITE, file(11, 1), dir(5), "", OnlineBlocker.DIRECTORY_TYPE_CHANGE),
                Arguments.of("directory becomes link", Op.Action.WRITE, dir(4), of(FileType.SYMLINK, 5), "", OnlineBlocker.DIRECTORY_TYPE_CHANGE),
                Arguments.of("a socket", Op.Action.WRITE, null, of(FileType.SOCKET, 5), "", OnlineBlocker.SOCKET),
                Arguments.of("a directory's ACL", Op.Action.META, dir(4), dir(5, Map.of("system.posix_acl_access", "AgAAAA==")), "",
                        OnlineBlocker.DIRECTORY_XATTRS));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void eachOperation(String name, Op.Action action, Entry live, Entry shadow, String steps, OnlineBlocker blocker) {
        OnlinePlan p = OnlinePlan.of(RestartClass.SERVICES, List.of("nginx"), Map.of("/", plan(op("srv/x", action, live, live, shadow))));
        if (blocker == null) {
            assertThat(p.possible()).as(p.whyNot()).isTrue();
            assertThat(String.join("|", p.steps().stream().map(s -> s.verb().word() + " " + s.expect()
                    + (s.mtime() == null ? "" : " " + s.mtime())).toList())).isEqualTo(steps);
        } else {
            assertThat(p.possible()).isFalse();
            assertThat(p.blocked()).containsExactly(new OnlinePlan.Blocked(blocker, "/srv/x"));
            assertThat(p.whyNot()).isEqualTo(blocker.word() + " (/srv/x)");
        }
    }

    @Test
    void aPathWhosePolicyKeepsTheLiveVersionIsMarkedToKeepItIfTheLiveVmChangesIt() {
        Op log = new Op("var/log/syslog", Op.Action.WRITE, Rule.TAKE_SHADOW_REPLACE, null, dev.shadowpatch.merge.Decision.KEEP_LIVE,
                null, 3, null, PathFacts.fromEntries("var/log/syslog", file(11, 1), file(11, 1), file(12, 2), false), null, null);
        OnlinePlan p = OnlinePlan.of(RestartClass.NONE, List.of(), Map.of("/", plan(log, op("usr/bin/x", Op.Action.WRITE, file(3, 1), file(3, 1), file(4, 2)))));
        assertThat(p.steps()).extracting(OnlinePlan.Step::expect).containsExactly("32768:3:3:1.000000005", "~32768:11:3:1.000000005");
    }

    @Test
    void theRestartClassAndRebootPackagesKeepAPatchOffline() {
        Map<String, MergePlan> plans = Map.of("/", plan(op("usr/sbin/nginx", Op.Action.WRITE, file(1, 1), file(1, 1), file(2, 2))));
        assertThat(OnlinePlan.of(RestartClass.NONE, List.of("tzdata"), plans).possible()).isTrue();
        assertThat(OnlinePlan.of(RestartClass.SERVICES, List.of("nginx", "nginx-common"), plans).possible()).isTrue();
        assertThat(OnlinePlan.of(RestartClass.SYSTEM, List.of("nginx"), plans).blocked())
                .containsExactly(new OnlinePlan.Blocked(OnlineBlocker.RESTART_NEEDS_REBOOT, null));
        assertThat(OnlinePlan.of(null, List.of("nginx"), plans).blocked())
                .containsExactly(new OnlinePlan.Blocked(OnlineBlocker.RESTART_UNKNOWN, null));
        // the class may miss what only a reboot loads: the kernel, the init system, the C library
        OnlinePlan kernel = OnlinePlan.of(RestartClass.NONE, List.of("linux-image-6.1.0-57-amd64", "systemd", "libc6", "nginx"), plans);
        assertThat(kernel.blocked()).extracting(OnlinePlan.Blocked::where)
                .containsExactly("libc6", "linux-image-6.1.0-57-amd64", "systemd");
        assertThat(kernel.whyNot()).isEqualTo("a kernel, init or C library package (libc6); a kernel, init or C library package"
                + " (linux-image-6.1.0-57-amd64); a kernel, init or C library package (systemd)");
        assertThatThrownBy(() -> kernel.manifest("r1")).isInstanceOf(IllegalStateException.class).hasMessageContaining("not an online plan");
    }

    @Test
    void stepsComeInTheAppliersOrderAcrossFileSystems() {
        Map<String, MergePlan> plans = Map.of(
                "/", plan(op("etc/new", Op.Action.WRITE, null, null, dir(9)),
                        op("etc/new/a.conf", Op.Action.WRITE, null, null, file(10, 1)),
                        op("usr/share/old", Op.Action.DELETE, dir(3), dir(3), null),
                        op("usr/share/old/f", Op.Action.DELETE, file(4, 1), file(4, 1), null)),
                "/boot", plan(op("grub/x.mod", Op.Action.WRITE, file(20, 1), file(20, 1), file(21, 2))));
        OnlinePlan p = OnlinePlan.of(RestartClass.SERVICES, List.of("x"), plans);
        assertThat(p.steps()).extracting(s -> s.verb().word() + " " + s.guestPath()).containsExactly(
                "mkdir /etc/new", "put /etc/new/a.conf", "put /boot/grub/x.mod",
                "delete /usr/share/old/f", "delete /usr/share/old", "attrs /etc/new");
        assertThat(p.staged()).isEqualTo(Map.of("/", List.of("etc/new", "etc/new/a.conf"), "/boot", List.of("grub/x.mod")));
        assertThat(p.payloadNumbers()).containsExactly(Map.entry("/", 0), Map.entry("/boot", 1));
    }

    @Test
    void theManifestCarriesAnyFileNameAsItsBytes() {
        String weird = "srv/a b%0Ac%FF"; // a space, a newline and a byte that is not UTF-8, escaped as RelPath writes them
        OnlinePlan p = OnlinePlan.of(RestartClass.NONE, List.of(), Map.of("/", plan(op(weird, Op.Action.WRITE, null, null, file(3, 1)))));
        String[] lines = p.manifest("run-1").split("\n");
        assertThat(lines[0]).isEqualTo("sp-online-manifest 1 run-1");
        assertThat(lines[1]).isEqualTo("fs 0 " + Base64.getEncoder().encodeToString("/".getBytes(StandardCharsets.UTF_8)));
        String[] op = lines[2].split(" ");
        assertThat(op).hasSize(5);
        assertThat(Base64.getDecoder().decode(op[4])).isEqualTo(new byte[]{'s', 'r', 'v', '/', 'a', ' ', 'b', '\n', 'c', (byte) 0xFF});
        assertThatThrownBy(() -> p.manifest("run 1; rm")).isInstanceOf(IllegalArgumentException.class);
    }
}
