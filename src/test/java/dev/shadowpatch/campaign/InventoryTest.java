package dev.shadowpatch.campaign;

import dev.shadowpatch.workflow.WindowCalendar;
import dev.shadowpatch.workflow.WindowCalendars;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The inventory file: what it gives, and the errors that name the entry to fix. */
class InventoryTest {
    static final WindowCalendars WINDOWS = new WindowCalendars(new WindowCalendar(null, null, null, null),
            Map.of("web-sat", new WindowCalendar("0 0 2 ? * SAT", Duration.ofHours(2), "UTC", Duration.ofMinutes(5))));

    @TempDir Path dir;

    @Test
    void theExampleInOpsLoadsAndAnswersByHostGroupAndVm() {
        Inventory inventory = Inventory.load(Path.of("ops/inventory.example.yaml"), WINDOWS);
        assertThat(inventory.uriOf("kvm-a")).contains("qemu:///system");
        assertThat(inventory.uriOf("kvm-b")).contains("qemu+ssh://root@kvm-b.example.net/system");
        assertThat(inventory.vmsIn("web")).extracting(Inventory.Vm::name).containsExactly("web-01", "web-02", "web-03");
        assertThat(inventory.windowOf(inventory.vm("web-01").orElseThrow())).isEqualTo("web-sat");
        assertThat(inventory.windowOf(inventory.vm("db-01").orElseThrow())).isEqualTo("default");
    }

    @Test
    void everyProblemIsNamedWithItsEntryAndWhatToDo() throws Exception {
        Path file = Files.writeString(dir.resolve("inventory.yaml"), """
                hosts:
                  - {name: kvm-a, uri: "qemu:///system"}
                  - {name: kvm-a, uri: "qemu+ssh://root@other/system"}
                groups:
                  - {name: web, window: web-sun}
                  - {name: db}
                vms:
                  - {name: web-01, host: kvm-a, group: db}
                  - {name: web-02, host: kvm-z, group: db}
                  - {name: web-03, host: kvm-a, group: payroll}
                  - {name: web-01, host: kvm-a, group: db}
                """);
        assertThatThrownBy(() -> Inventory.load(file, WINDOWS))
                .hasMessageContaining("5 problem(s)")
                .hasMessageContaining("hosts[1] 'kvm-a' is listed twice; remove one")
                .hasMessageContaining("groups[0] 'web': unknown window 'web-sun'; configure shadowpatch.windows.web-sun")
                .hasMessageContaining("vms[1] 'web-02': unknown host 'kvm-z'; add it under hosts")
                .hasMessageContaining("vms[2] 'web-03': unknown group 'payroll'")
                .hasMessageContaining("vms[3] 'web-01' is listed twice");
    }

    @Test
    void aVmMayCarryTheAddressItAnswersAtWhichMustBeAnAddressOrAHostName() throws Exception {
        Path good = Files.writeString(dir.resolve("good.yaml"), """
                hosts: [{name: kvm-a, uri: "qemu:///system"}]
                groups: [{name: db}]
                vms:
                  - {name: db-01, host: kvm-a, group: db, address: 10.20.0.5}
                  - {name: db-02, host: kvm-a, group: db, address: db-02.lan.example}
                  - {name: db-03, host: kvm-a, group: db, address: "fd00::5"}
                  - {name: db-04, host: kvm-a, group: db}
                """);
        Inventory inventory = Inventory.load(good, WINDOWS);
        assertThat(inventory.vmsIn("db")).extracting(Inventory.Vm::address)
                .containsExactly("10.20.0.5", "db-02.lan.example", "fd00::5", null);

        Path bad = Files.writeString(dir.resolve("bad.yaml"), """
                hosts: [{name: kvm-a, uri: "qemu:///system"}]
                groups: [{name: db}]
                vms:
                  - {name: db-01, host: kvm-a, group: db, address: 10.20.0.500}
                  - {name: db-02, host: kvm-a, group: db, address: "db 02; rm -rf /"}
                """);
        assertThatThrownBy(() -> Inventory.load(bad, WINDOWS))
                .hasMessageContaining("2 problem(s)")
                .hasMessageContaining("vms[0] 'db-01': address '10.20.0.500' is not an IPv4 address")
                .hasMessageContaining("vms[1] 'db-02': address 'db 02; rm -rf /' is neither an IP address nor a host name");
    }

    @Test
    void aFileOfTheWrongShapeSaysWhichShapeIsExpected() throws Exception {
        Path file = Files.writeString(dir.resolve("inventory.json"), "{\"machines\": []}");
        assertThatThrownBy(() -> Inventory.load(file, WINDOWS)).hasMessageContaining("does not have the shape")
                .hasMessageContaining("machines");
    }
}
