package dev.shadowpatch.disk;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which logical volumes are mapped onto the bytes of their physical volume, as lvs reports their segments. */
class LogicalVolumeExtentsTest {
    static final long MIB = 1 << 20, EXTENT = 4 * MIB, DATA = 100 * MIB;
    static final ObjectMapper JSON = new ObjectMapper();

    static List<JsonNode> segments(String... typeAndRanges) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (int i = 0; i < typeAndRanges.length; i += 2) {
            out.add(JSON.readTree("{\"segtype\":\"" + typeAndRanges[i] + "\",\"seg_pe_ranges\":\"" + typeAndRanges[i + 1]
                    + "\",\"vg_extent_size\":\"" + EXTENT + "\"}"));
        }
        return out;
    }

    @Test
    void oneLinearRunIsMappedAtItsExtents() throws Exception {
        assertThat(QemuStorageDaemonExposer.contiguous(segments("linear", "/dev/loop3:10-19"), DATA, "/dev/loop3"))
                .containsExactly(DATA + 10 * EXTENT, 10 * EXTENT);
        assertThat(QemuStorageDaemonExposer.contiguous(segments("linear", "/dev/loop3:0-9", "linear", "/dev/loop3:10-14"), DATA, "/dev/loop3"))
                .as("lvextend right after it").containsExactly(DATA, 15 * EXTENT);
    }

    @Test
    void piecesOtherPhysicalVolumesAndOtherTypesAreNotMapped() throws Exception {
        assertThat(QemuStorageDaemonExposer.contiguous(segments("linear", "/dev/loop3:0-9", "linear", "/dev/loop3:20-24"), DATA, "/dev/loop3"))
                .as("extended after another volume").isNull();
        // the second segment on another PV: its extents 10-14 there are not ours here
        assertThat(QemuStorageDaemonExposer.contiguous(segments("linear", "/dev/loop3:0-9", "linear", "[unknown]:10-14"), DATA, "/dev/loop3"))
                .isNull();
        assertThat(QemuStorageDaemonExposer.contiguous(segments("linear", "/dev/loop4:0-9"), DATA, "/dev/loop3")).isNull();
        assertThat(QemuStorageDaemonExposer.contiguous(segments("striped", "/dev/loop3:0-9 /dev/loop4:0-9"), DATA, "/dev/loop3")).isNull();
        assertThat(QemuStorageDaemonExposer.contiguous(segments("thin", ""), DATA, "/dev/loop3")).isNull();
    }
}
