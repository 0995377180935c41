package dev.shadowpatch.virt;

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
}
