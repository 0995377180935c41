package dev.shadowpatch.campaign;

import dev.shadowpatch.workflow.WindowCalendars;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.core.env.Environment;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import java.nio.file.Path;

/** The inventory ({@code shadowpatch.inventory-file}, or empty: single-VM runs need none) and the scheduled campaign. */
@Configuration(proxyBeanMethods = false)
public class InventoryConfiguration {
    private static final Logger log = LoggerFactory.getLogger(InventoryConfiguration.class);

    @Bean
    public Inventory inventory(@Value("${shadowpatch.inventory-file:}") String file, WindowCalendars windows) {
        if (file.isBlank()) {
            return Inventory.empty();
        }
        Inventory inventory = Inventory.load(Path.of(file), windows);
        log.info("Inventory {} loaded", file);
        return inventory;
    }

    /** Named so patch-campaign.bpmn's timer can read it: {@code ${campaignSchedule.timerCycle()}}. */
    @Bean
    public CampaignSchedule campaignSchedule(Environment env) {
        return Binder.get(env).bindOrCreate("shadowpatch.scheduled-campaign", CampaignSchedule.class);
    }
}
