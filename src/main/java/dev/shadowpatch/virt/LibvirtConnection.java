package dev.shadowpatch.virt;

import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.Library;
import org.libvirt.LibvirtException;
import org.libvirt.event.DomainEvent;
import org.libvirt.event.LifecycleListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One lazily opened libvirt connection. The libvirt event loop runs on a daemon thread, started
 * once per JVM before the first connection opens (keepalive and lifecycle events need it). Nothing
 * touches libvirt until the first call, so the application starts where libvirt is absent.
 */
public class LibvirtConnection implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LibvirtConnection.class);
    private static boolean eventLoopRunning;

    private final String uri;
    private final Object stateChanged = new Object();
    private final Notifier notifier = new Notifier(stateChanged);
    private Connect connect;

    public LibvirtConnection(String uri) {
        this.uri = uri;
    }

    public String uri() {
        return uri;
    }

    /** The open connection; reopens it when it died. */
    public synchronized Connect get() {
        try {
            if (connect != null && connect.isAlive()) {
                return connect;
            }
        } catch (LibvirtException | RuntimeException e) {
            log.info("libvirt connection to {} is gone ({}), reopening", uri, e.getMessage());
        }
        closeQuietly();
        startEventLoop();
        try {
            Connect c = new Connect(uri);
            try {
                c.setKeepAlive(5, 3);
            } catch (LibvirtException e) {
                log.debug("no keepalive on {}: {}", uri, e.getMessage()); // local/test drivers have none
            }
            c.addLifecycleListener(notifier);
            connect = c;
            return c;
        } catch (LibvirtException e) {
            throw new HypervisorException("libvirt at " + uri + " is unreachable: " + e.getError().getMessage()
                    + " (is libvirtd running? see ops/host-setup)", e);
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            throw new HypervisorException("libvirt at " + uri + " is unusable: the native library libvirt.so.0 "
                    + "could not be loaded (install Debian package libvirt0): " + e.getMessage(), e);
        }
    }

    /** Wakes up at a lifecycle event or after {@code millis}, whichever comes first. */
    public void awaitEvent(long millis) throws InterruptedException {
        synchronized (stateChanged) {
            stateChanged.wait(Math.max(1, millis));
        }
    }

    private static synchronized void startEventLoop() {
        if (eventLoopRunning) {
            return;
        }
        try {
            Connect.setErrorCallback((userData, error) -> { }); // errors arrive as exceptions; keep stderr clean
            Library.initEventLoop();
        } catch (LibvirtException e) {
            throw new HypervisorException("cannot start the libvirt event loop: " + e.getMessage(), e);
        }
        Thread t = new Thread(() -> {
            try {
                Library.runEventLoop();
            } catch (Throwable e) {
                log.error("libvirt event loop stopped", e);
            }
        }, "libvirt-event-loop");
        t.setDaemon(true);
        t.start();
        eventLoopRunning = true;
    }

    private void closeQuietly() {
        if (connect != null) {
            try {
                connect.removeLifecycleListener(notifier); // no callbacks into a closed connection
            } catch (LibvirtException | RuntimeException e) {
                log.debug("removing the lifecycle listener on {}: {}", uri, e.getMessage());
            }
            try {
                connect.close();
            } catch (LibvirtException | RuntimeException e) {
                log.debug("closing {}: {}", uri, e.getMessage());
            }
            connect = null;
        }
    }

    @Override
    public synchronized void close() {
        closeQuietly();
    }

    /** Runs on the event loop thread: must never throw or block. */
    private record Notifier(Object monitor) implements LifecycleListener {
        @Override
        public int onLifecycleChange(Domain domain, DomainEvent event) {
            try {
                synchronized (monitor) {
                    monitor.notifyAll();
                }
            } catch (Throwable ignored) {
                // never let anything escape into native code
            }
            return 0;
        }
    }
}
