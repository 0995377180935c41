package dev.shadowpatch.virt;

import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class LibvirtPropertiesTest {

    /**
     * A host of the inventory gets the local settings with its own URI. withUri copies field by
     * field, so a property added later and forgotten there would silently fall back to its default
     * for every remote host: every field is set to a value other than its default, and must arrive.
     */
    @Test
    void anotherHostKeepsEverySettingButTheUri() throws IllegalAccessException {
        LibvirtProperties local = new LibvirtProperties();
        List<Field> fields = Arrays.stream(LibvirtProperties.class.getDeclaredFields())
                .filter(f -> !Modifier.isStatic(f.getModifiers())).toList();
        for (Field f : fields) {
            f.setAccessible(true);
            f.set(local, notTheDefault(f, f.get(local)));
        }

        LibvirtProperties remote = local.withUri("qemu+ssh://root@kvm-b.example.net/system");

        assertThat(remote.getUri()).isEqualTo("qemu+ssh://root@kvm-b.example.net/system");
        for (Field f : fields) {
            if (!f.getName().equals("uri")) {
                assertThat(f.get(remote)).as(f.getName()).isEqualTo(f.get(local));
            }
        }
    }

    private static Object notTheDefault(Field f, Object current) {
        Class<?> type = f.getType();
        if (type == String.class) return current + "-changed";
        if (type == Path.class) return ((Path) current).resolve("changed");
        if (type == Duration.class) return ((Duration) current).plusSeconds(7);
        if (type == boolean.class) return !(Boolean) current;
        throw new AssertionError("field " + f.getName() + " of type " + type + ": teach this test a value for it");
    }
}
