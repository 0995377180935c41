package dev.shadowpatch.virt;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;

/** Wires the hypervisor capability. Construction touches nothing: libvirt is contacted on first use. */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(LibvirtProperties.class)
public class VirtConfiguration {

    /** Chain records in the shared database: every node sees every run's disks. */
    @Bean
    public ChainStore chainStore(JdbcTemplate jdbc, PlatformTransactionManager transactions) {
        return new JdbcChainStore(jdbc, transactions);
    }

    @Bean(destroyMethod = "close")
    public LibvirtHypervisor hypervisor(LibvirtProperties props, ChainStore chains) {
        return new LibvirtHypervisor(props, chains);
    }

    @Bean(destroyMethod = "close")
    public LibvirtHypervisorFactory hypervisorFactory(LibvirtProperties props, ChainStore chains) {
        return new LibvirtHypervisorFactory(props, chains);
    }

    /** Per-host hypervisors; hosts come from the inventory when there is one. */
    @Bean
    public Hypervisors hypervisors(Hypervisor hypervisor, HypervisorFactory factory, ObjectProvider<HostDirectory> hosts) {
        return new Hypervisors(hypervisor, factory, hosts.getIfAvailable(() -> name -> java.util.Optional.empty()));
    }
}
