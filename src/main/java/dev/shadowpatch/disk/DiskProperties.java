package dev.shadowpatch.disk;

import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/** {@code shadowpatch.disk.*}: where exports and mount points live, and which tools to run. */
@ConfigurationProperties(prefix = "shadowpatch.disk")
public class DiskProperties {
    /** One directory per exposed image (FUSE export file, mount point, throwaway overlay). */
    private Path workDir = Path.of("/run/shadowpatch/disk");
    private String qemuStorageDaemon = "qemu-storage-daemon";
    private String qemuImg = "qemu-img";
    /** Partition number holding the root file system; 0 picks the largest Linux file system. */
    private int partition = 0;
    /** Deadline for each tool call (daemon start, losetup, mount, umount). */
    private Duration commandTimeout = Duration.ofSeconds(60);

    public Path getWorkDir() { return workDir; }
    public void setWorkDir(Path workDir) { this.workDir = workDir; }
    public String getQemuStorageDaemon() { return qemuStorageDaemon; }
    public void setQemuStorageDaemon(String s) { this.qemuStorageDaemon = s; }
    public String getQemuImg() { return qemuImg; }
    public void setQemuImg(String qemuImg) { this.qemuImg = qemuImg; }
    public int getPartition() { return partition; }
    public void setPartition(int partition) { this.partition = partition; }
    public Duration getCommandTimeout() { return commandTimeout; }
    public void setCommandTimeout(Duration commandTimeout) { this.commandTimeout = commandTimeout; }
}
