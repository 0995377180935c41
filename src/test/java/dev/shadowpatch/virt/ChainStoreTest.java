package dev.shadowpatch.virt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.datasource.DriverManagerDataSource;
import org.springframework.transaction.support.TransactionTemplate;

class ChainStoreTest {
    @TempDir
    Path tmp;

    static ChainRecord record(String runId) {
        ChainRecord r = new ChainRecord(new ShadowClone(runId, "web1", "web1-shadow-" + runId, "vda",
                Path.of("/img/web1.qcow2"), Path.of("/img/web1-" + runId + "-live.qcow2"),
                Path.of("/img/web1-shadow-" + runId + ".qcow2"), null));
        r.snapshotAt = Instant.parse("2026-11-27T04:00:00Z");
        r.quiesced = true;
        r.done.add(ChainRecord.Step.SNAPSHOT_TAKEN);
        return r;
    }

    static void assertSame(ChainRecord back, ChainRecord r) {
        assertThat(back.toClone()).isEqualTo(r.toClone());
        assertThat(back.done).isEqualTo(r.done);
        assertThat(back.snapshotAt).isEqualTo(r.snapshotAt);
        assertThat(back.quiesced).isEqualTo(r.quiesced);
    }

    @Test
    void recordsSurviveARestart() {
        ChainRecord r = record("r1");
        new FileChainStore(tmp).save(r);

        assertSame(new FileChainStore(tmp).load("r1").orElseThrow(), r);
        assertThat(new FileChainStore(tmp).all()).hasSize(1);
        assertThat(new FileChainStore(tmp).load("r2")).isEmpty();
    }

    /**
     * Two nodes on one database (here H2; PostgreSQL in PostgresRunTest): what one node recorded the
     * other reads, and a record stays written when the transaction of the step that wrote it rolls back
     * (the snapshot it describes happened all the same).
     */
    @Test
    void inTheDatabaseARecordIsSeenByEveryNodeAndOutlivesTheStepsTransaction() {
        var db = new DriverManagerDataSource("jdbc:h2:mem:chains-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "");
        var transactions = new DataSourceTransactionManager(db);
        ChainStore nodeA = new JdbcChainStore(new JdbcTemplate(db), transactions);
        ChainStore nodeB = new JdbcChainStore(new JdbcTemplate(db), transactions);

        ChainRecord r = record("run-7");
        assertThatThrownBy(() -> new TransactionTemplate(transactions).executeWithoutResult(step -> {
            nodeA.save(r);
            throw new IllegalStateException("the step failed after the snapshot");
        })).hasMessageContaining("the step failed");

        assertSame(nodeB.load("run-7").orElseThrow(), r);
        r.done.add(ChainRecord.Step.SHADOW_DELTA_CREATED);
        nodeB.save(r);
        assertThat(nodeA.load("run-7").orElseThrow().has(ChainRecord.Step.SHADOW_DELTA_CREATED)).isTrue();
        assertThat(nodeA.all()).hasSize(1);
        assertThat(nodeA.load("run-8")).isEmpty();
        assertThatThrownBy(() -> nodeA.load("../etc")).hasMessageContaining("bad run id");
    }

    /**
     * One shape of the disk chain: the record stores the {@link ShadowClone}'s fields at its top level
     * with plain path strings, and reads the one-disk fields of records and run variables of earlier
     * versions, so a run begun before an upgrade is still retried or rolled back.
     */
    @Test
    void theRecordAndTheRunVariableShareTheDiskChainsShapeAndReadEarlierRecords() {
        String earlier = """
                {"runId":"r3","liveVm":"web1","shadowVm":"web1-shadow-r3","diskTarget":"vda",
                 "baseImage":"/img/web1.qcow2","liveDelta":"/img/web1-r3-live.qcow2",
                 "shadowDelta":"/img/web1-shadow-r3.qcow2","mergeOverlay":"/img/web1-r3-merge.qcow2",
                 "shadowNvram":null,"snapshotAt":"2026-11-27T04:00:00Z","quiesced":false,
                 "done":["SNAPSHOT_TAKEN","MERGE_OVERLAY_CREATED"]}""";
        ChainRecord r = ChainRecord.fromJson(earlier);
        ShadowClone chain = new ShadowClone("r3", "web1", "web1-shadow-r3", "vda", Path.of("/img/web1.qcow2"),
                Path.of("/img/web1-r3-live.qcow2"), Path.of("/img/web1-shadow-r3.qcow2"), Path.of("/img/web1-r3-merge.qcow2"));
        assertThat(r.toClone()).isEqualTo(chain);
        String earlierVariable = """
                {"runId":"r3","liveVm":"web1","shadowVm":"web1-shadow-r3","diskTarget":"vda",
                 "baseImage":"/img/web1.qcow2","liveDelta":"/img/web1-r3-live.qcow2",
                 "shadowDelta":"/img/web1-shadow-r3.qcow2","mergeOverlay":"/img/web1-r3-merge.qcow2","baseFormat":"qcow2"}""";
        assertThat(ShadowClone.fromJson(earlierVariable)).as("the run variable of a run begun before the upgrade").isEqualTo(chain);
        assertThat(r.has(ChainRecord.Step.MERGE_OVERLAY_CREATED)).isTrue();
        assertThat(ShadowClone.fromJson(chain.toJson())).isEqualTo(chain);
        assertThat(chain.toJson()).contains("\"liveDelta\":\"/img/web1-r3-live.qcow2\"").doesNotContain("file:");
        assertThat(ChainRecord.fromJson(r.toJson()).toClone()).isEqualTo(chain);
        assertThat(r.toJson()).contains("\"mergeOverlay\" : \"/img/web1-r3-merge.qcow2\"").doesNotContain("\"chain\"");
        r.chain = r.chain.withoutMergeOverlays();
        assertThat(ChainRecord.fromJson(r.toJson()).toClone().mergeOverlay()).isNull();
    }

    /** Every disk with its own layers; a disk the merge does not write has no overlay, and keeps it so through JSON. */
    @Test
    void aChainOfSeveralDisksKeepsEachDisksLayers() {
        ShadowClone two = new ShadowClone("r4", "db1", "db1-shadow-r4", java.util.List.of(
                new ShadowClone.Disk("vda", Path.of("/img/db1.qcow2"), Path.of("/img/db1-r4-live.qcow2"),
                        Path.of("/img/db1-shadow-r4.qcow2"), null, "qcow2"),
                new ShadowClone.Disk("vdb", Path.of("/img/db1-data.img"), Path.of("/img/db1-r4-vdb-live.qcow2"),
                        Path.of("/img/db1-shadow-r4-vdb.qcow2"), null, "raw")));
        ShadowClone merging = two.withMergeOverlays(java.util.Map.of("vdb", Path.of("/img/db1-r4-vdb-merge.qcow2")));
        assertThat(merging.mergedDisks()).extracting(ShadowClone.Disk::target).containsExactly("vdb");
        assertThat(merging.mergeOverlay()).as("the boot disk is not merged into").isNull();
        assertThat(merging.disk("vdb").orElseThrow().format(ShadowClone.Layer.BASE)).isEqualTo("raw");
        ChainRecord r = new ChainRecord(merging);
        assertThat(ChainRecord.fromJson(r.toJson()).toClone()).isEqualTo(merging);
        assertThat(ShadowClone.fromJson(merging.toJson())).isEqualTo(merging);
        assertThat(merging.toJson()).doesNotContain("diskTarget").doesNotContain("bootDisk");
        assertThat(merging.withoutMergeOverlays()).isEqualTo(two);
        assertThatThrownBy(() -> new ShadowClone("r5", "db1", "s", java.util.List.of())).hasMessageContaining("without disks");
    }
}
