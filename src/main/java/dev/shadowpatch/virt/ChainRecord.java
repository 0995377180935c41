package dev.shadowpatch.virt;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

import java.io.IOException;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Our persisted record of one patch run: its disk chain ({@link ShadowClone}, the one shape of it,
 * stored as top-level fields) and which steps are done. Written before and after every step, so a
 * retried or restarted step, on any node, finds out where it stands.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public class ChainRecord {

    public enum Step {
        SNAPSHOT_TAKEN, SHADOW_DELTA_CREATED, SHADOW_DEFINED, SHADOW_STARTED,
        MERGE_OVERLAY_CREATED, SWITCHED_TO_MERGE_OVERLAY, ROLLED_BACK, SHADOW_REMOVED, LIVE_CHAIN_FLATTENED, CLEANED
    }

    @JsonUnwrapped
    public ShadowClone chain;
    public String shadowNvram;
    public Instant snapshotAt;
    public boolean quiesced;
    /** The live VM's devices its shadow did not get, with the reason (DomainXml#sharedDevices). */
    public List<String> droppedDevices = List.of();
    public Set<Step> done = EnumSet.noneOf(Step.class);

    public ChainRecord() {}

    public ChainRecord(ShadowClone chain) {
        this.chain = chain;
    }

    public boolean has(Step s) {
        return done.contains(s);
    }

    public String runId() {
        return chain.runId();
    }

    public String liveVm() {
        return chain.liveVm();
    }

    private static final ObjectMapper JSON = new ObjectMapper().registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS).enable(SerializationFeature.INDENT_OUTPUT);

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (IOException e) {
            throw new HypervisorException("chain record of run " + runId() + " cannot be written as JSON: " + e.getMessage(), e);
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
        return chain;
    }
}
