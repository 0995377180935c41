package dev.shadowpatch.disk;

import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Wires the disk capability; nothing runs until the first {@code expose}. */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(DiskProperties.class)
public class DiskConfiguration {

    @Bean(destroyMethod = "closeAll")
    public QemuStorageDaemonExposer diskExposer(DiskProperties props) {
        return new QemuStorageDaemonExposer(props);
    }
}
