package dev.shadowpatch;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/** The Shadow Patching application: Camunda engine, webapps, REST API and the capabilities they call. */
@SpringBootApplication
public class ShadowPatchingApplication {
    public static void main(String[] args) {
        SpringApplication.run(ShadowPatchingApplication.class, args);
    }
}
