package dev.shadowpatch.evidence;

import dev.shadowpatch.guest.GuestShell;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Wires the readers of a patch's evidence in the shadow. */
@Configuration(proxyBeanMethods = false)
public class EvidenceConfiguration {

    @Bean
    public ShadowPackages shadowPackages(GuestShell shell) { // the primary shell: a test double where one is registered
        return new ShadowPackages(shell);
    }
}
