package dev.shadowpatch.workflow;

import org.camunda.bpm.engine.RepositoryService;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

import static org.assertj.core.api.Assertions.assertThat;

class ProcessDeployerTest extends ProcessTestSupport {
    @Autowired ProcessDeployer deployer;
    @Autowired RepositoryService repository;

    @Test
    void deploysProcessesAndFormsUnderPlainNamesAndARestartAddsNoVersion() {
        long deployments = repository.createDeploymentQuery().count();
        deployer.deploy(); // as a second node or a restart would
        assertThat(repository.createDeploymentQuery().count()).isEqualTo(deployments);
        assertThat(repository.createProcessDefinitionQuery().processDefinitionKey(ProcessKeys.SHADOW_PATCHING).count()).isEqualTo(1);
        assertThat(repository.createProcessDefinitionQuery().processDefinitionKey(ProcessKeys.MAINTENANCE_WINDOW).count()).isEqualTo(1);
        var definition = repository.createProcessDefinitionQuery().processDefinitionKey(ProcessKeys.SHADOW_PATCHING).singleResult();
        assertThat(definition.getResourceName()).isEqualTo("shadow-patching.bpmn");
        assertThat(definition.getHistoryTimeToLive()).isPositive();
        assertThat(repository.getDeploymentResourceNames(definition.getDeploymentId())).contains("approve-patch.html");
    }
}
