package dev.shadowpatch.guest;

import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Wires guest access over SSH. Keys and known_hosts are read on first use, not at start-up. */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(GuestProperties.class)
public class GuestConfiguration {

    @Bean
    public JschGuestShell guestShell(GuestProperties props) {
        return new JschGuestShell(props);
    }

    @Bean
    public ChangeCapture changeCapture(GuestShell shell) { // the primary shell: a test double where one is registered
        return new ChangeCapture(shell);
    }
}
