package dev.shadowpatch.workflow;

import dev.shadowpatch.disk.DiskException;
import dev.shadowpatch.disk.DiskExposer;
import dev.shadowpatch.disk.GuestLayout;
import dev.shadowpatch.disk.LayoutResolver.LayoutRefusedException;
import dev.shadowpatch.virt.DomainXml;
import dev.shadowpatch.virt.Hypervisor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Reads a running VM's file system layout at the start of its run, before anything is touched, so
 * a VM whose layout is not understood is refused with the reason instead of being merged in part.
 */
@Component
public class LayoutCheck {
    private static final Logger log = LoggerFactory.getLogger(LayoutCheck.class);

    private final DiskExposer disks;

    public LayoutCheck(DiskExposer disks) {
        this.disks = disks;
    }

    /**
     * @param layout   null when there is nothing to read here (the hypervisor names no file disks, or
     *                 they are not on this host): the merge then takes the root file system as before
     * @param problems why the run must not start; empty when it may
     */
    public record Outcome(GuestLayout layout, List<String> problems) {}

    public Outcome read(Hypervisor hypervisor, String vm) {
        Map<String, DomainXml.Disk> disksOfVm = hypervisor.snapshotDisks(vm);
        Map<String, Path> files = new LinkedHashMap<>();
        Map<String, String> formats = new LinkedHashMap<>();
        disksOfVm.forEach((target, d) -> {
            files.put(target, Path.of(d.source()));
            formats.put(target, d.format() == null ? "qcow2" : d.format());
        });
        if (files.isEmpty()) {
            log.info("file system layout of {} not read: its hypervisor names no file disks", vm);
            return new Outcome(null, List.of());
        }
        List<String> elsewhere = files.entrySet().stream().filter(f -> !Files.isRegularFile(f.getValue()))
                .map(f -> "disk " + f.getKey() + " (" + f.getValue() + ")").toList();
        if (!elsewhere.isEmpty()) {
            // merged only by reading the disks here: a VM whose disks this node cannot read would be merged in part, or not at all
            return new Outcome(null, List.of("the disks of VM " + vm + " are not files on this node: " + String.join(", ", elsewhere)
                    + " (the merge reads a VM's disks on the node that runs it: run the app where the images are, or share them)"));
        }
        try {
            // every file system fstab mounts was found on a disk the run snapshots (readLayout refuses the rest)
            return new Outcome(disks.readLayout(files, formats, DiskExposer.Access.SNAPSHOT_OF_RUNNING), List.of());
        } catch (LayoutRefusedException e) {
            return new Outcome(null, e.reasons().stream().map(r -> "VM " + vm + ": " + r).toList());
        } catch (DiskException e) {
            return new Outcome(null, List.of("the disks of VM " + vm + " could not be read for its file system layout: " + e.getMessage()));
        }
    }
}
