package dev.shadowpatch.virt;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.EnumSet;
import java.util.Set;

/**
 * Our persisted record of one patch run's disk chain and of which steps are done (libvirt keeps
 * none: the snapshot is NO_METADATA). Written before and after every step, so a retried or
 * restarted step finds out where it stands.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public class ChainRecord {

    public enum Step {
        SNAPSHOT_TAKEN, SHADOW_DELTA_CREATED, SHADOW_DEFINED, SHADOW_STARTED,
        MERGE_OVERLAY_CREATED, SWITCHED_TO_MERGE_OVERLAY, ROLLED_BACK, SHADOW_REMOVED, LIVE_CHAIN_FLATTENED, CLEANED
    }

    public String runId;
    public String liveVm;
    public String shadowVm;
    public String diskTarget;
    public String baseImage;
    public String liveDelta;
    public String shadowDelta;
    public String mergeOverlay;
    public String shadowNvram;
    public Instant snapshotAt;
    public boolean quiesced;
    public Set<Step> done = EnumSet.noneOf(Step.class);

    public boolean has(Step s) {
        return done.contains(s);
    }

    private static final ObjectMapper JSON = new ObjectMapper().registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS).enable(SerializationFeature.INDENT_OUTPUT);

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (IOException e) {
            throw new HypervisorException("chain record of run " + runId + " cannot be written as JSON: " + e.getMessage(), e);
        }
    }

    public static ChainRecord fromJson(String json) {
        try {
            return JSON.readValue(json, ChainRecord.class);
        } catch (IOException e) {
            throw new HypervisorException("chain record is unreadable: " + e.getMessage(), e);
        }
    }

    public ShadowClone toClone() {
        return new ShadowClone(runId, liveVm, shadowVm, diskTarget, path(baseImage), path(liveDelta), path(shadowDelta),
                path(mergeOverlay));
    }

    private static Path path(String s) {
        return s == null ? null : Path.of(s);
    }
}
