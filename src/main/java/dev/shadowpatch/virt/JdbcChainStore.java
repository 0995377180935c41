package dev.shadowpatch.virt;

import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.TransactionTemplate;

import java.util.List;
import java.util.Optional;

/**
 * Chain records in the application's database (table {@code sp_disk_chain}), shared by every node:
 * the node that retries a merge or rolls a VM back after another node died finds the run's disks
 * there. Each save commits in a transaction of its own (REQUIRES_NEW): a snapshot taken stays
 * recorded even when the engine's transaction of the step that took it rolls back.
 */
public class JdbcChainStore implements ChainStore {
    private final JdbcTemplate jdbc;
    private final TransactionTemplate ownTransaction;

    public JdbcChainStore(JdbcTemplate jdbc, PlatformTransactionManager transactions) {
        this.jdbc = jdbc;
        this.ownTransaction = new TransactionTemplate(transactions);
        this.ownTransaction.setPropagationBehavior(TransactionDefinition.PROPAGATION_REQUIRES_NEW);
        try {
            jdbc.execute("create table if not exists sp_disk_chain (run_id varchar(64) primary key,"
                    + " live_vm varchar(255) not null, record varchar(20000) not null)");
        } catch (DataAccessException raced) { // another node created it at the same moment
            jdbc.queryForObject("select count(*) from sp_disk_chain", Long.class);
        }
    }

    @Override
    public Optional<ChainRecord> load(String runId) {
        List<String> rows = jdbc.queryForList("select record from sp_disk_chain where run_id = ?", String.class,
                ChainStore.checkRunId(runId));
        return rows.isEmpty() ? Optional.empty() : Optional.of(ChainRecord.fromJson(rows.get(0)));
    }

    @Override
    public void save(ChainRecord r) {
        String json = r.toJson();
        ownTransaction.executeWithoutResult(status -> {
            if (jdbc.update("update sp_disk_chain set record = ?, live_vm = ? where run_id = ?", json, r.liveVm(),
                    ChainStore.checkRunId(r.runId())) == 0) {
                jdbc.update("insert into sp_disk_chain (run_id, live_vm, record) values (?, ?, ?)", r.runId(), r.liveVm(), json);
            }
        });
    }

    @Override
    public List<ChainRecord> all() {
        return jdbc.queryForList("select record from sp_disk_chain", String.class).stream().map(ChainRecord::fromJson).toList();
    }
}
