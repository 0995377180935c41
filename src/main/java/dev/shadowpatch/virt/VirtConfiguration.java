package dev.shadowpatch.virt;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Wires the hypervisor capability. Construction touches nothing: libvirt is contacted on first use. */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(LibvirtProperties.class)
public class VirtConfiguration {

    @Bean(destroyMethod = "close")
    public LibvirtHypervisor hypervisor(LibvirtProperties props) {
        return new LibvirtHypervisor(props);
    }

    @Bean(destroyMethod = "close")
    public LibvirtHypervisorFactory hypervisorFactory(LibvirtProperties props) {
        return new LibvirtHypervisorFactory(props);
    }

    /** Per-host hypervisors; hosts come from the inventory when there is one. */
    @Bean
    public Hypervisors hypervisors(Hypervisor hypervisor, HypervisorFactory factory, ObjectProvider<HostDirectory> hosts) {
        return new Hypervisors(hypervisor, factory, hosts.getIfAvailable(() -> name -> java.util.Optional.empty()));
    }
}
