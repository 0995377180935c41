package dev.shadowpatch.virt;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChainStoreTest {
    @TempDir
    Path tmp;

    @Test
    void recordsSurviveARestart() {
        ChainRecord r = new ChainRecord();
        r.runId = "r1";
        r.liveVm = "web1";
        r.shadowVm = "web1-shadow-r1";
        r.diskTarget = "vda";
        r.baseImage = "/img/web1.qcow2";
        r.liveDelta = "/img/web1-r1-live.qcow2";
        r.shadowDelta = "/img/web1-shadow-r1.qcow2";
        r.snapshotAt = Instant.parse("2026-11-27T04:00:00Z");
        r.quiesced = true;
        r.done.add(ChainRecord.Step.SNAPSHOT_TAKEN);
        new ChainStore(tmp).save(r);

        ChainRecord back = new ChainStore(tmp).load("r1").orElseThrow();
        assertThat(back.toClone()).isEqualTo(r.toClone());
        assertThat(back.has(ChainRecord.Step.SNAPSHOT_TAKEN)).isTrue();
        assertThat(back.snapshotAt).isEqualTo(r.snapshotAt);
        assertThat(back.quiesced).isTrue();
        assertThat(new ChainStore(tmp).all()).hasSize(1);
        assertThat(new ChainStore(tmp).load("r2")).isEmpty();
    }
}
