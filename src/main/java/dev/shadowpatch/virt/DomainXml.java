package dev.shadowpatch.virt;

import java.io.StringReader;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

/**
 * Pure functions over libvirt domain XML: read the disks, point a disk at another image (dropping
 * the stale {@code <backingStore>}), and derive a shadow VM's definition from the live VM's.
 */
public final class DomainXml {

    /** One {@code <disk>} of a domain. {@code format} is the driver type (qcow2, raw, ...). */
    public record Disk(String target, String device, String type, String format, String source) {
    }

    private DomainXml() {
    }

    public static List<Disk> disks(String xml) {
        Document doc = parse(xml);
        List<Disk> out = new ArrayList<>();
        for (Element d : children(devices(doc), "disk")) {
            Element target = child(d, "target");
            Element driver = child(d, "driver");
            Element source = child(d, "source");
            String src = source == null ? null
                    : firstNonEmpty(source.getAttribute("file"), source.getAttribute("dev"), source.getAttribute("name"));
            out.add(new Disk(target == null ? null : target.getAttribute("dev"), attrOr(d, "device", "disk"),
                    d.getAttribute("type"), driver == null ? null : emptyToNull(driver.getAttribute("type")), src));
        }
        return out;
    }

    public static Optional<Disk> disk(String xml, String target) {
        return disks(xml).stream().filter(d -> target.equals(d.target())).findFirst();
    }

    /** The disk a shadow is made of: the named target, or the first file-backed {@code device='disk'}. */
    public static Disk patchDisk(String xml, String preferredTarget) {
        return disks(xml).stream()
                .filter(d -> "disk".equals(d.device()))
                .filter(d -> preferredTarget == null || preferredTarget.equals(d.target()))
                .findFirst()
                .orElseThrow(() -> new HypervisorException(preferredTarget == null
                        ? "domain has no disk device" : "domain has no disk " + preferredTarget));
    }

    /**
     * The disks a run snapshots, by libvirt target, the one the VM boots from ({@link #patchDisk})
     * first: every {@code device='disk'} the VM writes and owns (not read-only, not shareable).
     * Each gets its own live delta, shadow delta and, when the merge writes it, merge overlay; one
     * that is not a qcow2 or raw file refuses the run ({@link PatchableDisk}), because a shadow
     * without it could not be tested and a merge could not include it.
     */
    public static java.util.LinkedHashMap<String, Disk> snapshotDisks(String xml) {
        java.util.LinkedHashMap<String, Disk> out = new java.util.LinkedHashMap<>();
        Disk boot = patchDisk(xml, null);
        out.put(boot.target(), boot);
        for (Element d : children(devices(parse(xml)), "disk")) {
            Element target = child(d, "target");
            if (target == null || out.containsKey(target.getAttribute("dev")) || !"disk".equals(attrOr(d, "device", "disk"))
                    || child(d, "readonly") != null || child(d, "shareable") != null) {
                continue;
            }
            disk(xml, target.getAttribute("dev")).ifPresent(disk -> out.put(disk.target(), disk));
        }
        return out;
    }

    /** Whether disk {@code target} of the definition has {@code image} as its source (false when no such disk). */
    public static boolean pointsAt(String xml, String target, Path image) {
        return disk(xml, target).map(Disk::source).filter(image.toString()::equals).isPresent();
    }

    /** Whether the running definition shows an image under the disk (an overlay not yet flattened). */
    public static boolean hasBackingStore(String xml, String target) {
        Element backing = child(diskElement(parse(xml), target), "backingStore");
        return backing != null && child(backing, "source") != null;
    }

    public static String name(String xml) {
        return text(parse(xml).getDocumentElement(), "name");
    }

    public static List<String> macAddresses(String xml) {
        List<String> macs = new ArrayList<>();
        for (Element i : children(devices(parse(xml)), "interface")) {
            Element mac = child(i, "mac");
            if (mac != null) {
                macs.add(mac.getAttribute("address"));
            }
        }
        return macs;
    }

    /** The libvirt network of every NIC, in order; a NIC on no libvirt network (a bridge, a host device) as "". */
    public static List<String> nicNetworks(String xml) {
        List<String> out = new ArrayList<>();
        for (Element i : children(devices(parse(xml)), "interface")) {
            Element src = child(i, "source");
            out.add("network".equals(i.getAttribute("type")) && src != null ? src.getAttribute("network") : "");
        }
        return out;
    }

    /** The {@code <os><nvram>} path (UEFI variables), if any. */
    public static Optional<String> nvram(String xml) {
        Element os = child(parse(xml).getDocumentElement(), "os");
        Element nv = os == null ? null : child(os, "nvram");
        return nv == null ? Optional.empty() : Optional.ofNullable(emptyToNull(nv.getTextContent().strip()));
    }

    /** Whether the domain has an emulated TPM (swtpm keeps its state per domain UUID). */
    public static boolean hasEmulatedTpm(String xml) {
        for (Element tpm : children(devices(parse(xml)), "tpm")) {
            Element backend = child(tpm, "backend");
            if (backend != null && "emulator".equals(backend.getAttribute("type"))) {
                return true;
            }
        }
        return false;
    }

    public static String uuid(String xml) {
        return text(parse(xml).getDocumentElement(), "uuid");
    }

    /**
     * Points disk {@code target} at {@code image} (format qcow2) and removes its {@code <backingStore>}:
     * libvirt would otherwise trust the stale chain and QEMU would silently skip a layer.
     */
    public static String withDiskSource(String xml, String target, Path image) {
        return withDiskSources(xml, java.util.Map.of(target, image));
    }

    /** {@link #withDiskSource} for several disks in one definition (switched together or not at all). */
    public static String withDiskSources(String xml, java.util.Map<String, Path> images) {
        Document doc = parse(xml);
        images.forEach((target, image) -> setDiskSource(doc, diskElement(doc, target), image));
        return serialize(doc);
    }

    /**
     * What the shadow must not have, with the reason for each: every device through which it would
     * reach what the live VM shares or owns outside its own disks and NICs (a shadow patches and tests
     * with write access, so it must never touch the live VM's data). {@link #shadowDefinition} drops
     * them all; a read-only disk of its own (an installation ISO) stays. Empty for a VM with none.
     */
    public static List<String> sharedDevices(String liveXml, java.util.Collection<String> snapshotTargets) {
        List<String> found = new ArrayList<>();
        Element devices = devices(parse(liveXml));
        for (Element d : children(devices, "disk")) {
            Element target = child(d, "target");
            String dev = target == null ? "?" : target.getAttribute("dev");
            if (snapshotTargets.contains(dev)) {
                continue;
            }
            if (child(d, "shareable") != null) {
                found.add("disk " + dev + " is shareable (another VM may use it)");
            } else if ("lun".equals(attrOr(d, "device", "disk"))) {
                found.add("disk " + dev + " passes a host LUN through");
            } else if (!isOwnReadOnly(d)) {
                found.add("disk " + dev + " is a writable disk of the live VM the run does not snapshot");
            }
        }
        for (Element i : children(devices, "interface")) {
            if ("hostdev".equals(i.getAttribute("type"))) {
                found.add("NIC" + describe(child(i, "mac"), "address") + " is a host device passed through (it becomes an isolated virtio NIC)");
            }
        }
        for (String[] kind : SHARED_DEVICES) {
            for (Element e : children(devices, kind[0])) {
                String tag = describe(child(e, "target"), "dir");
                found.add(kind[1] + (tag.isEmpty() ? "" : ":" + tag));
            }
        }
        return found;
    }

    /** A disk the shadow may keep: read-only (a CD-ROM always is), not shared, no host LUN. */
    private static boolean isOwnReadOnly(Element disk) {
        String device = attrOr(disk, "device", "disk");
        return (child(disk, "readonly") != null || "cdrom".equals(device))
                && child(disk, "shareable") == null && !"lun".equals(device);
    }

    /** Devices a shadow never gets: tag, and what it is. */
    private static final String[][] SHARED_DEVICES = {
            {"filesystem", "a host directory shared into the VM (virtiofs/9p)"},
            {"hostdev", "a host device passed through"},
            {"shmem", "memory shared with the host or other VMs"},
            {"redirdev", "a USB device redirected from outside"},
            {"smartcard", "a smartcard reader of the host"},
    };

    private static String describe(Element e, String attr) {
        return e == null || e.getAttribute(attr).isEmpty() ? "" : " " + e.getAttribute(attr);
    }

    /**
     * The shadow's definition: the live VM's XML with a new name, no UUID, no MAC addresses (libvirt
     * makes new ones), every NIC on the isolated network as a plain virtual NIC, every snapshotted
     * disk on its shadow delta ({@code shadowDeltas}, by target), every device of {@link #sharedDevices} removed (a shadow must never write the
     * live VM's disks or reach what it shares), per-VM paths renamed.
     */
    public static String shadowDefinition(String liveXml, String shadowName, java.util.Map<String, Path> shadowDeltas,
                                          String isolatedNetwork, Path shadowNvram) {
        Document doc = parse(liveXml);
        Element dom = doc.getDocumentElement();
        String liveName = text(dom, "name");
        child(dom, "name").setTextContent(shadowName);
        removeChildren(dom, "uuid");
        removeChildren(dom, "genid");
        Element description = child(dom, "description");
        if (description == null) {
            description = doc.createElement("description");
            dom.insertBefore(description, child(dom, "name").getNextSibling());
        }
        description.setTextContent("shadow VM of " + liveName + " (Shadow Patching)");

        Element os = child(dom, "os");
        Element nv = os == null ? null : child(os, "nvram");
        if (nv != null && shadowNvram == null) {
            os.removeChild(nv);
        } else if (shadowNvram != null && os != null) {
            if (nv == null) { // firmware autoselection: the definition names no store until the VM starts
                nv = doc.createElement("nvram");
                os.appendChild(nv);
            }
            nv.setTextContent(shadowNvram.toString());
        }

        Element devices = devices(doc);
        for (Element d : children(devices, "disk")) {
            Element target = child(d, "target");
            String dev = target == null ? "" : target.getAttribute("dev");
            if (shadowDeltas.containsKey(dev)) {
                setDiskSource(doc, d, shadowDeltas.get(dev));
            } else if (!isOwnReadOnly(d)) {
                devices.removeChild(d);
            }
        }
        for (String[] kind : SHARED_DEVICES) {
            removeChildren(devices, kind[0]);
        }
        for (Element i : children(devices, "interface")) {
            boolean passedThrough = "hostdev".equals(i.getAttribute("type")) || "vhostuser".equals(i.getAttribute("type"));
            for (String tag : List.of("mac", "source", "target", "alias", "address", "virtualport", "vlan", "bandwidth")) {
                removeChildren(i, tag);
            }
            i.removeAttribute("managed");
            if (passedThrough) { // its driver (vfio, vhost-user) and boot/ROM settings belong to the host's device
                for (String tag : List.of("driver", "rom")) {
                    removeChildren(i, tag);
                }
            }
            i.setAttribute("type", "network");
            Element src = doc.createElement("source");
            src.setAttribute("network", isolatedNetwork);
            i.insertBefore(src, i.getFirstChild());
        }
        for (Element c : children(devices, "channel")) {
            if ("unix".equals(c.getAttribute("type"))) {
                removeChildren(c, "source"); // libvirt generates a per-domain socket path
            }
        }
        for (Element g : children(devices, "graphics")) {
            g.removeAttribute("port");
            g.setAttribute("autoport", "yes");
        }
        // Per-VM file names (serial/console logs) must not collide with the live VM's.
        for (String tag : List.of("serial", "console")) {
            for (Element s : children(devices, tag)) {
                for (Element log : children(s, "log")) {
                    log.setAttribute("file", log.getAttribute("file").replace(liveName, shadowName));
                }
                Element src = child(s, "source");
                if (src != null && src.hasAttribute("path") && "file".equals(s.getAttribute("type"))) {
                    src.setAttribute("path", src.getAttribute("path").replace(liveName, shadowName));
                }
            }
        }
        return serialize(doc);
    }

    // ------------------------------------------------------------------ helpers

    private static void setDiskSource(Document doc, Element disk, Path image) {
        disk.setAttribute("type", "file");
        Element driver = child(disk, "driver");
        if (driver == null) {
            driver = doc.createElement("driver");
            driver.setAttribute("name", "qemu");
            disk.insertBefore(driver, disk.getFirstChild());
        }
        driver.setAttribute("type", "qcow2");
        removeChildren(disk, "source");
        removeChildren(disk, "backingStore");
        Element src = doc.createElement("source");
        src.setAttribute("file", image.toString());
        disk.insertBefore(src, driver.getNextSibling());
    }

    private static Element diskElement(Document doc, String target) {
        for (Element d : children(devices(doc), "disk")) {
            Element t = child(d, "target");
            if (t != null && target.equals(t.getAttribute("dev"))) {
                return d;
            }
        }
        throw new HypervisorException("domain " + text(doc.getDocumentElement(), "name") + " has no disk " + target);
    }

    private static Element devices(Document doc) {
        Element devices = child(doc.getDocumentElement(), "devices");
        if (devices == null) {
            throw new HypervisorException("domain XML has no <devices>");
        }
        return devices;
    }

    static Document parse(String xml) {
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setExpandEntityReferences(false);
            var builder = f.newDocumentBuilder();
            builder.setErrorHandler(new org.xml.sax.helpers.DefaultHandler()); // errors arrive as exceptions, not on stderr
            return builder.parse(new InputSource(new StringReader(xml)));
        } catch (Exception e) {
            throw new HypervisorException("unparsable domain XML: " + e.getMessage(), e);
        }
    }

    static String serialize(Document doc) {
        try {
            var t = TransformerFactory.newInstance().newTransformer();
            t.setOutputProperty(OutputKeys.OMIT_XML_DECLARATION, "yes");
            StringWriter w = new StringWriter();
            t.transform(new DOMSource(doc), new StreamResult(w));
            return w.toString();
        } catch (Exception e) {
            throw new HypervisorException("cannot serialise domain XML: " + e.getMessage(), e);
        }
    }

    static List<Element> children(Element parent, String tag) {
        List<Element> out = new ArrayList<>();
        NodeList nl = parent.getChildNodes();
        for (int i = 0; i < nl.getLength(); i++) {
            Node n = nl.item(i);
            if (n instanceof Element e && e.getTagName().equals(tag)) {
                out.add(e);
            }
        }
        return out;
    }

    static Element child(Element parent, String tag) {
        List<Element> c = children(parent, tag);
        return c.isEmpty() ? null : c.get(0);
    }

    private static void removeChildren(Element parent, String tag) {
        for (Element e : children(parent, tag)) {
            parent.removeChild(e);
        }
    }

    private static String text(Element parent, String tag) {
        Element e = child(parent, tag);
        return e == null ? null : e.getTextContent().strip();
    }

    private static String attrOr(Element e, String attr, String dflt) {
        return e.hasAttribute(attr) ? e.getAttribute(attr) : dflt;
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    private static String firstNonEmpty(String... s) {
        for (String x : s) {
            if (x != null && !x.isEmpty()) {
                return x;
            }
        }
        return null;
    }
}
