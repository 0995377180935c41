package dev.shadowpatch.guest;

import com.jcraft.jsch.ChannelExec;
import com.jcraft.jsch.ChannelSftp;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.Session;
import com.jcraft.jsch.SftpException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * {@link GuestShell} over SSH with jsch: public-key login, host keys checked against pinned
 * known_hosts (StrictHostKeyChecking=yes, never "accept any"), a session per call, commands with
 * a deadline (a remote {@code timeout} kills the command too), SFTP for files, jump hosts.
 */
public class JschGuestShell implements GuestShell {
    private static final int MAX_OUTPUT = 4 << 20;

    private final GuestProperties props;

    public JschGuestShell(GuestProperties props) {
        this.props = props;
    }

    @Override
    public CommandResult run(GuestTarget target, String command, Duration timeout) {
        long t0 = System.nanoTime();
        long secs = Math.max(1, timeout.toSeconds());
        // The remote side enforces the deadline too, so a timed-out command does not live on in the guest.
        String wrapped = "timeout -k 5 " + (secs + 2) + " sh -c " + shellQuote(command);
        try (Conn c = connect(target)) {
            ChannelExec ch = (ChannelExec) c.session.openChannel("exec");
            ch.setCommand(wrapped);
            ByteArrayOutputStream err = new Capped();
            ch.setErrStream(err, true);
            ch.setInputStream(null);
            InputStream in = ch.getInputStream();
            ch.connect((int) props.getConnectTimeout().toMillis());
            ByteArrayOutputStream out = new Capped();
            byte[] buf = new byte[8192];
            long deadline = t0 + timeout.toNanos();
            while (true) {
                while (in.available() > 0) {
                    int n = in.read(buf);
                    if (n < 0) {
                        break;
                    }
                    out.write(buf, 0, n);
                }
                if (ch.isClosed() && in.available() == 0) {
                    break;
                }
                if (System.nanoTime() > deadline) {
                    try {
                        ch.sendSignal("KILL");
                    } catch (Exception ignored) {
                        // the remote timeout kills it anyway
                    }
                    throw new GuestException("command timed out after " + secs + " s on " + target.describe() + ": " + command);
                }
                Thread.sleep(20);
            }
            return new CommandResult(command, ch.getExitStatus(), out.toString(StandardCharsets.UTF_8),
                    err.toString(StandardCharsets.UTF_8), Duration.ofNanos(System.nanoTime() - t0));
        } catch (JSchException | IOException e) {
            throw new GuestException("command on " + target.describe() + " failed: " + e.getMessage() + ": " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GuestException("interrupted while running a command on " + target.describe());
        }
    }

    /** Like {@link #run} but throws when the command exits non-zero. */
    public CommandResult check(GuestTarget target, String command, Duration timeout) {
        CommandResult r = run(target, command, timeout);
        if (!r.succeeded()) {
            throw new GuestException("command exited " + r.exitCode() + " on " + target.describe() + ": " + command
                    + (r.stderr().isBlank() ? "" : ": " + r.stderr().strip()));
        }
        return r;
    }

    @Override
    public void upload(GuestTarget target, Path localFile, String remotePath) {
        sftp(target, "upload " + localFile + " to " + remotePath, s -> {
            try (InputStream in = Files.newInputStream(localFile)) {
                s.put(in, remotePath);
            }
        });
    }

    /** Writes {@code content} to {@code remotePath} in the guest. */
    @Override
    public void upload(GuestTarget target, byte[] content, String remotePath) {
        sftp(target, "write " + remotePath, s -> s.put(new java.io.ByteArrayInputStream(content), remotePath));
    }

    @Override
    public void download(GuestTarget target, String remotePath, Path localFile) {
        sftp(target, "download " + remotePath + " to " + localFile, s -> {
            Path parent = localFile.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            try (OutputStream out = Files.newOutputStream(localFile)) {
                s.get(remotePath, out);
            }
        });
    }

    /** Connects and disconnects: proves the guest answers SSH with its pinned key. */
    public void probe(GuestTarget target) {
        try (Conn ignored = connect(target)) {
            // connected: host key verified, key accepted
        } catch (JSchException e) {
            throw new GuestException("SSH to " + target.describe() + " failed: " + e.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------ sessions

    @FunctionalInterface
    private interface SftpAction {
        void run(ChannelSftp s) throws SftpException, IOException;
    }

    private void sftp(GuestTarget target, String what, SftpAction a) {
        try (Conn c = connect(target)) {
            ChannelSftp s = (ChannelSftp) c.session.openChannel("sftp");
            s.connect((int) props.getConnectTimeout().toMillis());
            try {
                a.run(s);
            } finally {
                s.disconnect();
            }
        } catch (JSchException | SftpException | IOException e) {
            throw new GuestException(what + " on " + target.describe() + " failed: " + e.getMessage(), e);
        }
    }

    private record Conn(Session session, Session jump) implements AutoCloseable {
        @Override
        public void close() {
            session.disconnect();
            if (jump != null) {
                jump.disconnect();
            }
        }
    }

    private Conn connect(GuestTarget target) throws JSchException {
        if (!Files.isReadable(props.getPrivateKey())) {
            throw new GuestException("SSH key " + props.getPrivateKey() + " for " + target.describe()
                    + " is missing or unreadable (ops/lab-vm writes it)");
        }
        if (!Files.isReadable(props.getKnownHosts())) {
            throw new GuestException("pinned known_hosts " + props.getKnownHosts() + " for " + target.describe()
                    + " is missing: refusing to connect to an unverified host");
        }
        JSch jsch = new JSch();
        jsch.addIdentity(props.getPrivateKey().toString());
        jsch.setKnownHosts(props.getKnownHosts().toString());
        Session jump = null;
        String host = target.host();
        int port = target.port();
        try {
            if (target.jumpHost() != null) {
                Hop hop = Hop.parse(target.jumpHost(), props.getUser());
                jump = open(jsch, hop.user, hop.host, hop.port, null, target);
                int local = jump.setPortForwardingL("127.0.0.1", 0, target.host(), target.port());
                host = "127.0.0.1";
                port = local;
            }
            String alias = target.hostKeyAlias() != null ? target.hostKeyAlias()
                    : (target.jumpHost() != null ? target.host() : null);
            Session s = open(jsch, target.user() == null ? props.getUser() : target.user(), host, port, alias, target);
            return new Conn(s, jump);
        } catch (JSchException | RuntimeException e) {
            if (jump != null) {
                jump.disconnect();
            }
            throw e;
        }
    }

    private Session open(JSch jsch, String user, String host, int port, String alias, GuestTarget target) throws JSchException {
        Session s = jsch.getSession(user, host, port);
        s.setConfig("StrictHostKeyChecking", "yes");
        s.setConfig("PreferredAuthentications", "publickey");
        if (alias != null) {
            s.setHostKeyAlias(alias);
        }
        int ms = (int) props.getConnectTimeout().toMillis();
        s.setTimeout(ms);
        s.setServerAliveInterval(10_000);
        s.setServerAliveCountMax(3);
        try {
            s.connect(ms);
        } catch (JSchException e) {
            throw new GuestException("SSH to " + target.describe() + " failed: " + explain(e, alias == null ? host : alias), e);
        }
        return s;
    }

    private String explain(JSchException e, String keyName) {
        String m = String.valueOf(e.getMessage());
        Throwable c = e.getCause();
        if (m.startsWith("reject HostKey") || m.contains("UnknownHostKey")) {
            return "host key of " + keyName + " is not pinned in " + props.getKnownHosts() + " (refused: " + m + ")";
        }
        if (m.contains("HostKey has been changed")) {
            return "host key of " + keyName + " differs from the one pinned in " + props.getKnownHosts() + " (refused)";
        }
        if (c instanceof ConnectException) {
            return "connection refused (" + c.getMessage() + ")";
        }
        if (c instanceof SocketTimeoutException || m.contains("timeout") || m.contains("timed out")) {
            return "no SSH answer within " + props.getConnectTimeout().toSeconds() + " s (" + m + ")";
        }
        if (m.contains("Auth fail")) {
            return "key " + props.getPrivateKey() + " was not accepted";
        }
        return m;
    }

    private record Hop(String user, String host, int port) {
        static Hop parse(String spec, String defaultUser) {
            String user = defaultUser;
            String rest = spec;
            int at = spec.indexOf('@');
            if (at >= 0) {
                user = spec.substring(0, at);
                rest = spec.substring(at + 1);
            }
            int colon = rest.lastIndexOf(':');
            if (colon > 0 && rest.indexOf(':') == colon) {
                return new Hop(user, rest.substring(0, colon), Integer.parseInt(rest.substring(colon + 1)));
            }
            return new Hop(user, rest, 22);
        }
    }

    public static String shellQuote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /** Keeps the first 4 MiB of a stream, drops the rest. */
    private static final class Capped extends ByteArrayOutputStream {
        @Override
        public synchronized void write(byte[] b, int off, int len) {
            int room = MAX_OUTPUT - count;
            if (room > 0) {
                super.write(b, off, Math.min(room, len));
            }
        }

        @Override
        public synchronized void write(int b) {
            if (count < MAX_OUTPUT) {
                super.write(b);
            }
        }
    }
}
