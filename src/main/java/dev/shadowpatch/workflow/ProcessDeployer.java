package dev.shadowpatch.workflow;

import org.camunda.bpm.engine.RepositoryService;
import org.camunda.bpm.engine.repository.DeploymentBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.core.io.Resource;
import org.springframework.core.io.support.PathMatchingResourcePatternResolver;
import org.springframework.stereotype.Component;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * Deploys processes/ (BPMN and forms) under their plain file names, whatever the launch (IDE,
 * target/classes or the jar): forms are found by name ({@code embedded:deployment:...}) and an
 * unchanged file never makes a new process version, also when several nodes start on one database.
 */
@Component
public class ProcessDeployer {
    private static final Logger log = LoggerFactory.getLogger(ProcessDeployer.class);
    static final String DEPLOYMENT_NAME = "shadow-patching-processes";

    private final RepositoryService repositoryService;

    public ProcessDeployer(RepositoryService repositoryService) {
        this.repositoryService = repositoryService;
    }

    @EventListener(ApplicationReadyEvent.class)
    public void deploy() {
        try {
            Resource[] resources = new PathMatchingResourcePatternResolver().getResources("classpath*:processes/*");
            DeploymentBuilder deployment = repositoryService.createDeployment()
                    .name(DEPLOYMENT_NAME).source("processes/").enableDuplicateFiltering(true);
            int count = 0;
            for (Resource resource : resources) {
                String name = resource.getFilename();
                if (name == null || !(name.endsWith(".bpmn") || name.endsWith(".html") || name.endsWith(".form"))) {
                    continue;
                }
                try (InputStream in = resource.getInputStream()) {
                    deployment.addInputStream(name, in); // read at once by the builder
                }
                count++;
            }
            if (count == 0) {
                throw new IllegalStateException("No process found on the classpath under processes/: the build did not copy processes/");
            }
            var result = deployment.deployWithResult();
            // Unchanged files (a restart, a second node): Camunda returns the existing deployment with no
            // definitions list at all (null), not an empty one.
            var definitions = result.getDeployedProcessDefinitions();
            log.info("Deployed {} process resources (deployment {}, {} process definitions new)", count,
                    result.getId(), definitions == null ? 0 : definitions.size());
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read processes/ from the classpath", e);
        }
    }
}
