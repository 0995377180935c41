package dev.shadowpatch.testing;

import dev.shadowpatch.ShadowPatchingApplication;
import dev.shadowpatch.guest.GuestShell;
import dev.shadowpatch.virt.Hypervisor;
import dev.shadowpatch.virt.HypervisorFactory;
import dev.shadowpatch.workflow.ShadowMerger;
import org.camunda.bpm.engine.ProcessEngine;
import org.camunda.bpm.engine.impl.cfg.ProcessEngineConfigurationImpl;
import org.camunda.bpm.engine.impl.jobexecutor.JobExecutor;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.support.GenericApplicationContext;

import java.util.ArrayList;
import java.util.List;

/**
 * One node of the application started the way production starts it (the real main class, its
 * configuration files and profiles), with the capabilities replaced by recording test doubles.
 * Arguments are passed as command-line arguments, so they override application*.yml.
 */
public final class AppNode implements AutoCloseable {
    public final String name;
    public final RecordingHypervisor hypervisor;
    public final RecordingGuestShell guest;
    public final RecordingShadowMerger merger;
    private final ConfigurableApplicationContext context;

    private AppNode(String name, RecordingHypervisor hypervisor, RecordingGuestShell guest,
                    RecordingShadowMerger merger, ConfigurableApplicationContext context) {
        this.name = name;
        this.hypervisor = hypervisor;
        this.guest = guest;
        this.merger = merger;
        this.context = context;
    }

    public static AppNode start(String name, CapabilityLog log, WebApplicationType web, List<String> args) {
        return start(name, web, args, new RecordingHypervisor(name, log), new RecordingGuestShell(name, log),
                new RecordingShadowMerger(name, log));
    }

    public static AppNode start(String name, WebApplicationType web, List<String> args, RecordingHypervisor hypervisor,
                                RecordingGuestShell guest, RecordingShadowMerger merger) {
        return start(name, web, args, hypervisor, guest, merger, null);
    }

    /**
     * @param hosts the hypervisors of the inventory's hosts (e.g. a {@link SimulatedHypervisor.Fleet}), or null
     *              for the real factory
     */
    public static AppNode start(String name, WebApplicationType web, List<String> args, RecordingHypervisor hypervisor,
                                RecordingGuestShell guest, RecordingShadowMerger merger, HypervisorFactory hosts) {
        List<String> all = new ArrayList<>(args);
        ConfigurableApplicationContext context = new SpringApplicationBuilder(ShadowPatchingApplication.class)
                .web(web)
                .initializers(ctx -> {
                    // Primary: the real implementations are beans too (they connect only on first use).
                    var beans = (GenericApplicationContext) ctx;
                    beans.registerBean("testDoubleHypervisor", Hypervisor.class, () -> hypervisor, bd -> bd.setPrimary(true));
                    beans.registerBean("testDoubleGuestShell", GuestShell.class, () -> guest, bd -> bd.setPrimary(true));
                    beans.registerBean("testDoubleGuestJobs", dev.shadowpatch.guest.GuestJobs.class,
                            () -> new ImmediateGuestJobs(guest), bd -> bd.setPrimary(true));
                    beans.registerBean("testDoubleShadowMerger", ShadowMerger.class, () -> merger, bd -> bd.setPrimary(true));
                    if (hosts != null) {
                        beans.registerBean("testDoubleHypervisorFactory", HypervisorFactory.class, () -> hosts, bd -> bd.setPrimary(true));
                    }
                })
                .run(all.toArray(String[]::new));
        // The doubles must be what the delegates got, not some other implementation.
        if (context.getBean(Hypervisor.class) != hypervisor || context.getBean(GuestShell.class) != guest
                || context.getBean(ShadowMerger.class) != merger) {
            context.close();
            throw new IllegalStateException("The application did not take the test doubles");
        }
        return new AppNode(name, hypervisor, guest, merger, context);
    }

    /** Work done as the operator olga (group operators), as Tasklist or the REST API would do it. */
    public static <T> T asOperator(ProcessEngine engine, java.util.function.Function<ProcessEngine, T> work) {
        engine.getIdentityService().setAuthentication("olga", java.util.List.of(dev.shadowpatch.workflow.ProcessKeys.GROUP_OPERATORS));
        try {
            return work.apply(engine);
        } finally {
            engine.getIdentityService().clearAuthentication();
        }
    }

    public ProcessEngine engine() {
        return context.getBean(ProcessEngine.class);
    }

    public <T> T bean(Class<T> type) {
        return context.getBean(type);
    }

    /** The HTTP port of a node started with a servlet web server ({@code --server.port=0}: a free one). */
    public int port() {
        return context.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
    }

    public JobExecutor jobExecutor() {
        return ((ProcessEngineConfigurationImpl) engine().getProcessEngineConfiguration()).getJobExecutor();
    }

    public boolean isRunning() {
        return context.isActive();
    }

    @Override
    public void close() {
        if (context.isActive()) {
            context.close();
        }
    }
}
