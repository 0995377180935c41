package dev.shadowpatch.guest;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.argThat;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

/** What {@link ChangeCapture} asks of a guest, and what it makes of the answers (a Mockito guest shell). */
class ChangeCaptureTest {
    static final GuestTarget SHADOW = GuestTarget.direct("192.0.2.20", "root");
    static final Duration T = Duration.ofSeconds(60);
    final GuestShell shell = mock(GuestShell.class);
    final ChangeCapture capture = new ChangeCapture(shell);

    private void answer(String commandPart, int exitCode, String stdout) {
        when(shell.run(eq(SHADOW), argThat(c -> c != null && c.contains(commandPart)), any()))
                .thenReturn(new CommandResult(commandPart, exitCode, stdout, "", Duration.ofMillis(5)));
    }

    private void aGuestThatCanCaptureButDoesNot() {
        answer("command -v inotifywait", 0, "");
        answer("systemctl -q is-active sp-change-capture && ", 3, "");
        answer("mkdir -p", 0, "");
        answer("systemctl restart sp-change-capture", 0, "");
    }

    @Test
    void aGuestWithoutInotifyToolsIsSkippedWithTheReasonInOurWordsAndNothingIsInstalled() {
        answer("command -v inotifywait", ChangeCapture.NO_INOTIFYWAIT, "API_TOKEN=hunter2\n");
        assertThat(capture.begin(SHADOW, T)).hasValue("the guest lacks inotifywait (package inotify-tools)");
        verify(shell, never()).upload(any(), any(byte[].class), any());
        verify(shell, never()).run(any(), argThat(c -> c != null && c.contains("restart")), any());
    }

    @Test
    void aGuestWithoutSystemdOrWithoutEitherIsSkippedAndSaysWhichIsMissing() {
        answer("command -v inotifywait", ChangeCapture.NO_SYSTEMD, "");
        assertThat(capture.begin(SHADOW, T)).hasValue("the guest lacks a running systemd");
        answer("command -v inotifywait", ChangeCapture.NO_INOTIFYWAIT | ChangeCapture.NO_SYSTEMD, "");
        assertThat(capture.begin(SHADOW, T)).hasValue("the guest lacks inotifywait (package inotify-tools) and a running systemd");
        answer("command -v inotifywait", 127, "");
        assertThat(capture.begin(SHADOW, T)).hasValue("the guest's capability probe failed (exit 127)");
    }

    @Test
    void aGuestThatCanCaptureGetsTheAgentAndItsWatchesBeforeBeginReturns() {
        aGuestThatCanCaptureButDoesNot();
        assertThat(capture.begin(SHADOW, T)).isEmpty();
        verify(shell).upload(eq(SHADOW), eq(ChangeCapture.resource("sp-change-capture")), eq(ChangeCapture.SCRIPT));
        verify(shell).upload(eq(SHADOW), eq(ChangeCapture.resource("sp-change-capture.service")), eq(ChangeCapture.UNIT));
        verify(shell).upload(eq(SHADOW), eq(ChangeCapture.resource("exclude.list")), eq(ChangeCapture.EXCLUDES));
        verify(shell).run(eq(SHADOW), argThat(c -> c != null && c.contains("systemctl restart sp-change-capture")
                && c.contains("/var/lib/sp-change-capture/ready")), eq(T.plusSeconds(30)));
    }

    @Test
    void beginningAgainWhileItCapturesKeepsTheCaptureAndItsLog() {
        answer("command -v inotifywait", 0, "");
        answer("systemctl -q is-active sp-change-capture && ", 0, "");
        assertThat(capture.begin(SHADOW, T)).isEmpty();
        verify(shell, never()).upload(any(), any(byte[].class), any());
        verify(shell, never()).run(any(), argThat(c -> c != null && c.contains("restart")), any());
    }

    @Test
    void anAgentThatDoesNotComeUpIsSkippedWithWhy() {
        aGuestThatCanCaptureButDoesNot();
        answer("systemctl restart sp-change-capture", 3, "");
        assertThat(capture.begin(SHADOW, T)).get().asString().contains("stopped before its watches were established");
        answer("systemctl restart sp-change-capture", 4, "");
        assertThat(capture.begin(SHADOW, T)).hasValue("the agent did not establish its watches within 60 s");
        answer("systemctl restart sp-change-capture", 1, "");
        assertThat(capture.begin(SHADOW, T)).hasValue("the agent could not be installed or started (exit 1)");
    }

    @Test
    void anUnreachableGuestIsAnErrorNotASkip() {
        when(shell.run(any(), any(), any())).thenThrow(new GuestException("connection refused"));
        assertThatThrownBy(() -> capture.begin(SHADOW, T)).isInstanceOf(GuestException.class);
    }

    @Test
    void stopStopsTheServiceAndFlushesTheLogOrSaysItDidNot() {
        answer("systemctl stop sp-change-capture", 0, "");
        capture.stop(SHADOW);
        verify(shell).run(eq(SHADOW), eq(ChangeCapture.STOP), any());
        assertThat(ChangeCapture.STOP).isEqualTo("systemctl stop sp-change-capture && sync /var/lib/sp-change-capture/changes.log");
        answer("systemctl stop sp-change-capture", 5, "");
        assertThatThrownBy(() -> capture.stop(SHADOW)).isInstanceOf(GuestException.class).hasMessageContaining("did not stop (exit 5)");
    }
}
