package dev.shadowpatch.workflow;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

/** Deploying again on a database that has the processes already: a restart, or a second node starting. */
class ProcessDeployerTest extends ProcessTestSupport {
    @Autowired ProcessDeployer deployer;

    @Test
    void deployingUnchangedProcessesAgainNeitherFailsNorCreatesNewVersions() {
        var repository = engine.getRepositoryService();
        long definitions = repository.createProcessDefinitionQuery().count();
        long deployments = repository.createDeploymentQuery().count();
        assertThat(repository.createProcessDefinitionQuery().processDefinitionKey(ProcessKeys.SHADOW_PATCHING)
                .latestVersion().singleResult()).isNotNull();

        assertThatCode(deployer::deploy).doesNotThrowAnyException();

        assertThat(repository.createProcessDefinitionQuery().count()).isEqualTo(definitions);
        assertThat(repository.createDeploymentQuery().count()).isEqualTo(deployments);
    }
}
