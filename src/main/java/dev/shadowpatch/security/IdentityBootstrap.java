package dev.shadowpatch.security;

import org.camunda.bpm.engine.AuthorizationService;
import org.camunda.bpm.engine.FilterService;
import org.camunda.bpm.engine.IdentityService;
import org.camunda.bpm.engine.TaskService;
import org.camunda.bpm.engine.authorization.Authorization;
import org.camunda.bpm.engine.authorization.Groups;
import org.camunda.bpm.engine.authorization.HistoricProcessInstancePermissions;
import org.camunda.bpm.engine.authorization.HistoricTaskPermissions;
import org.camunda.bpm.engine.authorization.Permission;
import org.camunda.bpm.engine.authorization.Permissions;
import org.camunda.bpm.engine.authorization.ProcessDefinitionPermissions;
import org.camunda.bpm.engine.authorization.ProcessInstancePermissions;
import org.camunda.bpm.engine.authorization.Resource;
import org.camunda.bpm.engine.authorization.Resources;
import org.camunda.bpm.engine.filter.Filter;
import org.camunda.bpm.engine.identity.Group;
import org.camunda.bpm.engine.impl.persistence.entity.AuthorizationEntity;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.context.event.ApplicationStartedEvent;
import org.springframework.context.event.EventListener;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

import java.nio.file.Path;
import java.util.Map;

import static dev.shadowpatch.workflow.ProcessKeys.GROUP_AUDITORS;
import static dev.shadowpatch.workflow.ProcessKeys.GROUP_OPERATORS;
import static dev.shadowpatch.workflow.ProcessKeys.SHADOW_PATCHING;
import static org.camunda.bpm.engine.authorization.Permissions.ACCESS;
import static org.camunda.bpm.engine.authorization.Permissions.ALL;
import static org.camunda.bpm.engine.authorization.Permissions.CREATE;
import static org.camunda.bpm.engine.authorization.Permissions.CREATE_INSTANCE;
import static org.camunda.bpm.engine.authorization.Permissions.READ;
import static org.camunda.bpm.engine.authorization.Permissions.READ_HISTORY;
import static org.camunda.bpm.engine.authorization.Permissions.READ_INSTANCE;
import static org.camunda.bpm.engine.authorization.Permissions.READ_TASK;
import static org.camunda.bpm.engine.authorization.Permissions.TASK_WORK;

/**
 * Groups, their permissions and the first users, on every start (idempotent):
 * <ul>
 *   <li>{@code camunda-admin}: everything; the first admin from {@code SP_ADMIN_USER} /
 *       {@code SP_ADMIN_PASSWORD}, or with a generated password written to an owner-only file;</li>
 *   <li>{@code operators}: Tasklist and Cockpit, start runs, work on their tasks;</li>
 *   <li>{@code auditors}: Cockpit and history, read only: they cannot start or complete anything.</li>
 * </ul>
 * Optional {@code SP_OPERATOR_USER}/{@code _PASSWORD} and {@code SP_AUDITOR_USER}/{@code _PASSWORD}
 * create one user of each for a first try.
 */
@Component
public class IdentityBootstrap {
    private static final Logger log = LoggerFactory.getLogger(IdentityBootstrap.class);

    private final IdentityService identity;
    private final AuthorizationService authorizations;
    private final FilterService filters;
    private final TaskService tasks;
    private final Environment env;
    private final Path dataDir;

    public IdentityBootstrap(IdentityService identity, AuthorizationService authorizations, FilterService filters,
                             TaskService tasks, Environment env,
                             @Value("${shadowpatch.data-dir:./data}") Path dataDir) {
        this.identity = identity;
        this.authorizations = authorizations;
        this.filters = filters;
        this.tasks = tasks;
        this.env = env;
        this.dataDir = dataDir;
    }

    @EventListener(ApplicationStartedEvent.class)
    public void bootstrap() {
        group(Groups.CAMUNDA_ADMIN, "Shadow Patching administrators", Groups.GROUP_TYPE_SYSTEM);
        group(GROUP_OPERATORS, "Operators: start and approve patch runs", Groups.GROUP_TYPE_WORKFLOW);
        group(GROUP_AUDITORS, "Auditors: read history, change nothing", Groups.GROUP_TYPE_WORKFLOW);

        for (Resource resource : Resources.values()) {
            grant(Groups.CAMUNDA_ADMIN, resource, "*", ALL);
        }
        grant(GROUP_OPERATORS, Resources.APPLICATION, "tasklist", ACCESS);
        grant(GROUP_OPERATORS, Resources.APPLICATION, "cockpit", ACCESS);
        // Read everything; work tasks; retry a failed job. Not UPDATE/UPDATE_INSTANCE: with it an operator
        // could correlate the window message, execute a window timer by hand, modify a run to a step
        // past its approval or overwrite its variables. (The window's door checks it all anyway.)
        grant(GROUP_OPERATORS, Resources.PROCESS_DEFINITION, "*", READ, READ_INSTANCE, READ_TASK, READ_HISTORY,
                ProcessDefinitionPermissions.READ_INSTANCE_VARIABLE, ProcessDefinitionPermissions.READ_TASK_VARIABLE,
                ProcessDefinitionPermissions.READ_HISTORY_VARIABLE, ProcessDefinitionPermissions.RETRY_JOB);
        // Operators start patch runs, not the maintenance-window process (it releases the runs waiting for
        // the calendar's open window).
        grant(GROUP_OPERATORS, Resources.PROCESS_DEFINITION, SHADOW_PATCHING, READ, READ_INSTANCE, READ_TASK,
                READ_HISTORY, CREATE_INSTANCE, ProcessDefinitionPermissions.READ_INSTANCE_VARIABLE,
                ProcessDefinitionPermissions.READ_TASK_VARIABLE, ProcessDefinitionPermissions.READ_HISTORY_VARIABLE,
                ProcessDefinitionPermissions.RETRY_JOB);
        grant(GROUP_OPERATORS, Resources.PROCESS_DEFINITION, dev.shadowpatch.campaign.CampaignVariables.PROCESS_KEY,
                READ, READ_INSTANCE, READ_TASK, READ_HISTORY, CREATE_INSTANCE, ProcessDefinitionPermissions.READ_INSTANCE_VARIABLE,
                ProcessDefinitionPermissions.READ_TASK_VARIABLE, ProcessDefinitionPermissions.READ_HISTORY_VARIABLE,
                ProcessDefinitionPermissions.RETRY_JOB);
        grant(GROUP_OPERATORS, Resources.PROCESS_INSTANCE, "*", CREATE, READ, ProcessInstancePermissions.RETRY_JOB);
        // Claim and complete (TASK_WORK), not UPDATE: that would let them set any run variable through a task.
        grant(GROUP_OPERATORS, Resources.TASK, "*", READ, TASK_WORK);
        grant(GROUP_OPERATORS, Resources.DEPLOYMENT, "*", READ);
        grant(GROUP_OPERATORS, Resources.HISTORIC_PROCESS_INSTANCE, "*", HistoricProcessInstancePermissions.READ);
        grant(GROUP_OPERATORS, Resources.HISTORIC_TASK, "*", HistoricTaskPermissions.READ);

        grant(GROUP_AUDITORS, Resources.APPLICATION, "cockpit", ACCESS);
        grant(GROUP_AUDITORS, Resources.PROCESS_DEFINITION, "*", READ, READ_INSTANCE, READ_HISTORY);
        grant(GROUP_AUDITORS, Resources.PROCESS_INSTANCE, "*", READ);
        grant(GROUP_AUDITORS, Resources.DEPLOYMENT, "*", READ);
        grant(GROUP_AUDITORS, Resources.HISTORIC_PROCESS_INSTANCE, "*", HistoricProcessInstancePermissions.READ);
        grant(GROUP_AUDITORS, Resources.HISTORIC_TASK, "*", HistoricTaskPermissions.READ);
        grant(GROUP_AUDITORS, Resources.DECISION_DEFINITION, "*", READ, Permissions.READ_HISTORY);

        operatorTaskFilter();
        firstAdmin();
        optionalUser("SP_OPERATOR_USER", "SP_OPERATOR_PASSWORD", GROUP_OPERATORS);
        optionalUser("SP_AUDITOR_USER", "SP_AUDITOR_PASSWORD", GROUP_AUDITORS);
    }

    private void firstAdmin() {
        String user = env.getProperty("SP_ADMIN_USER", "admin");
        String password = nonBlank(env.getProperty("SP_ADMIN_PASSWORD")); // env, or a secret file
        if (password == null) {
            password = nonBlank(env.getProperty("admin_password"));
        }
        boolean exists = identity.createUserQuery().userId(user).count() > 0;
        if (password == null && !exists) {
            password = Accounts.randomPassword();
            Path file = dataDir.resolve("admin-password");
            Accounts.writeSecret(file, password);
            log.warn("No SP_ADMIN_PASSWORD set: generated a password for admin user '{}', readable by this account only in {}",
                    user, file.toAbsolutePath());
        }
        Accounts.ensure(identity, user, password, Groups.CAMUNDA_ADMIN);
    }

    /** A blank password (an empty variable in a compose file) counts as none, never as the password. */
    private static String nonBlank(String value) {
        return value == null || value.isBlank() ? null : value;
    }

    private void optionalUser(String userVar, String passwordVar, String group) {
        String user = env.getProperty(userVar);
        if (user == null || user.isBlank()) {
            return;
        }
        String password = env.getProperty(passwordVar);
        if (password == null || password.isBlank()) {
            throw new IllegalStateException(userVar + " is set but " + passwordVar + " is not: set both or neither");
        }
        Accounts.ensure(identity, user, password, group);
    }

    private void group(String id, String name, String type) {
        if (identity.createGroupQuery().groupId(id).count() == 0) {
            Group group = identity.newGroup(id);
            group.setName(name);
            group.setType(type);
            identity.saveGroup(group);
        }
    }

    private void grant(String groupId, Resource resource, String resourceId, Permission... permissions) {
        Authorization auth = authorizations.createAuthorizationQuery().groupIdIn(groupId)
                .resourceType(resource).resourceId(resourceId).authorizationType(Authorization.AUTH_TYPE_GRANT).singleResult();
        if (auth == null) {
            auth = authorizations.createNewAuthorization(Authorization.AUTH_TYPE_GRANT);
            auth.setGroupId(groupId);
            auth.setResource(resource);
            auth.setResourceId(resourceId);
        } else if (((AuthorizationEntity) auth).getPermissions() == mask(permissions)) {
            return;
        }
        // Exactly these permissions: a grant from an older version (e.g. operators' UPDATE) is narrowed.
        ((AuthorizationEntity) auth).setPermissions(mask(permissions));
        authorizations.saveAuthorization(auth);
    }

    /** The permission bits of a grant (ALL is every bit). */
    private static int mask(Permission[] permissions) {
        int mask = 0;
        for (Permission p : permissions) {
            mask |= p.getValue();
        }
        return mask;
    }

    /** Tasklist shows nothing without a filter: one for the operators' work. */
    private void operatorTaskFilter() {
        String name = "Shadow Patching: operator tasks";
        Filter filter = filters.createFilterQuery().filterName(name).singleResult();
        if (filter == null) {
            filter = filters.newTaskFilter(name)
                    .setOwner(null)
                    .setQuery(tasks.createTaskQuery().taskCandidateGroup(GROUP_OPERATORS).includeAssignedTasks())
                    .setProperties(Map.of("description", "Approvals, shadow fixes and rollback reviews", "priority", -10,
                            "refresh", true));
            filters.saveFilter(filter);
        }
        grant(GROUP_OPERATORS, Resources.FILTER, filter.getId(), READ);
    }
}
