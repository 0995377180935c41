package dev.shadowpatch.evidence;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Debian policy 5.6.12 as dpkg implements it: one row per case, {@code a <op> b}, checked both ways. */
class DebianVersionTest {

    @ParameterizedTest(name = "{0} {1} {2}")
    @CsvSource(delimiter = ' ', value = {
            // ~ sorts before everything, even the end of the part
            "1.0~rc1 < 1.0",
            "1.0~~ < 1.0~~a",
            "1.0~~a < 1.0~",
            "1.0~ < 1.0",
            "1.0 < 1.0a",
            "1.0-1~bpo1 < 1.0-1",
            "3.0.11-1~deb12u2 < 3.0.11-1",
            // letters before non-letters; numbers compare as numbers
            "1.0a < 1.0+",
            "1.0a < 1.0.",
            "1.0+dfsg-1 > 1.0-1",
            "1.9 < 1.10",
            "1.20250101 > 1.9",
            "1.0 = 1.00",
            "1.01 = 1.1",
            // epochs: numeric, first; absent = 0
            "1:0.9 > 2.0",
            "0:1.0 = 1.0",
            "2:1.0 > 1:9.9",
            "10:1 > 9:1",
            "1:2.3:4-1 > 1:2.3-1",
            // revisions: absent = 0; compared after upstream
            "1.0 = 1.0-0",
            "1.0-1 < 1.0-2",
            "1.0-1 < 1.0-1.1",
            "1.0-9 < 1.0-10",
            "2.36-9+deb12u4 < 2.36-9+deb12u10",
            "2.36-9+deb12u7 > 2.36-9",
            "1.2-3+b1 > 1.2-3",
            "1.2-3 < 1.2-3+deb12u1",
            // hyphens: the last one starts the revision
            "1.2-3-1 > 1.2-3",
            "1.2-3-1 > 1.2-4", // upstream 1.2-3 against 1.2
            // the openssl and glibc updates of bookworm-security
            "3.0.11-1~deb12u2 < 3.0.13-1~deb12u1",
            "3.0.17-1~deb12u3 < 3.0.18-1~deb12u1",
            "3.0.18-1~deb12u1 < 3.0.18-1~deb12u2",
            "2025a-0+deb12u1 < 2025b-0+deb12u1",
            "6.1.0-13 < 6.1.0-28",
            "99999999999999999999.1 > 99999999999999999998.9",
    })
    void comparesAsDpkgDoes(String a, String op, String b) {
        int expected = switch (op) {
            case "<" -> -1;
            case "=" -> 0;
            case ">" -> 1;
            default -> throw new IllegalArgumentException(op);
        };
        DebianVersion va = DebianVersion.parse(a), vb = DebianVersion.parse(b);
        assertEquals(expected, Integer.signum(va.compareTo(vb)), a + " vs " + b);
        assertEquals(-expected, Integer.signum(vb.compareTo(va)), b + " vs " + a);
        assertEquals(expected == 0, va.equals(vb));
        if (expected == 0) {
            assertEquals(va.hashCode(), vb.hashCode());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "a:1.0", ":1.0", "1:", "1.0-", "1.0 beta", "1.0_1", "1.0-1_1", "1.0;rm -rf /", "1.0-1:2"})
    void refusesWhatIsNoVersion(String text) {
        assertThrows(IllegalArgumentException.class, () -> DebianVersion.parse(text));
        assertNull(DebianVersion.parseOrNull(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"1:2.3.4-5+deb12u1", "2.3.1-3", "0.9~beta2", "43-1", "20230311"})
    void keepsItsText(String text) {
        assertEquals(text, DebianVersion.parse(text).toString());
    }
}
