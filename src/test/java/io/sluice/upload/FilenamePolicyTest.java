package io.sluice.upload;

import io.sluice.api.ApiException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FilenamePolicyTest {

    private final FilenamePolicy policy = new FilenamePolicy();

    @Test
    void keepsAnOrdinaryName() {
        assertThat(policy.sanitize("report-2026 (final).pdf")).isEqualTo("report-2026 (final).pdf");
        assertThat(policy.sanitize(".bashrc")).isEqualTo(".bashrc");
        assertThat(policy.sanitize("résumé.txt")).isEqualTo("résumé.txt");
    }

    @Test
    void dropsDirectoryParts() {
        assertThat(policy.sanitize("../../etc/passwd")).isEqualTo("passwd");
        assertThat(policy.sanitize("/absolute/path/file.txt")).isEqualTo("file.txt");
        assertThat(policy.sanitize("C:\\Users\\me\\Desktop\\file.txt")).isEqualTo("file.txt");
        assertThat(policy.sanitize("..\\..\\windows\\win.ini")).isEqualTo("win.ini");
    }

    @Test
    void trimsSpacesAndTrailingDots() {
        assertThat(policy.sanitize("  report.pdf. . ")).isEqualTo("report.pdf");
        assertThat(policy.sanitize("name...")).isEqualTo("name");
    }

    @Test
    void normalisesToNfc() {
        String decomposed = "e\u0301cole.txt";
        assertThat(policy.sanitize(decomposed)).isEqualTo("\u00e9cole.txt");
    }

    @ParameterizedTest
    @ValueSource(strings = {"a\nb.txt", "a\rb.txt", "tab\there.txt", "nul\u0000.txt", "del\u007f.txt", "c1\u0085.txt",
            "invoice\u202Efdp.exe", "x\u202Ay.txt", "iso\u2066late.txt", "pop\u2069.txt"})
    void refusesControlAndBidiCharacters(String raw) {
        assertThatThrownBy(() -> policy.sanitize(raw))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.status()).isEqualTo(400);
                    assertThat(e.code()).isEqualTo("invalid_filename");
                });
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "   ", ".", "..", "...", "dir/", "a/b/", "C:\\dir\\", "../.."})
    void refusesNamesWithoutANamePart(String raw) {
        assertThatThrownBy(() -> policy.sanitize(raw))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.code()).isEqualTo("invalid_filename"));
    }

    @Test
    void refusesNull() {
        assertThatThrownBy(() -> policy.sanitize(null))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.code()).isEqualTo("invalid_filename"));
    }

    @Test
    void capsLongNamesKeepingTheExtension() {
        String name = policy.sanitize("a".repeat(400) + ".xlsx");
        assertThat(name).endsWith(".xlsx").startsWith("aaaa");
        assertThat(name.getBytes(StandardCharsets.UTF_8)).hasSize(FilenamePolicy.MAX_BYTES);
    }

    @Test
    void capsOnCodePointBoundaries() {
        // 3-byte and 4-byte characters: the cut must never split one, so the result stays valid UTF-8.
        String name = policy.sanitize("\u6f22".repeat(100) + "\uD83D\uDE00".repeat(50) + ".txt");
        byte[] utf8 = name.getBytes(StandardCharsets.UTF_8);
        assertThat(utf8.length).isLessThanOrEqualTo(FilenamePolicy.MAX_BYTES);
        assertThat(new String(utf8, StandardCharsets.UTF_8)).isEqualTo(name);
        assertThat(name).endsWith(".txt");
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (Character.isHighSurrogate(c)) {
                assertThat(Character.isLowSurrogate(name.charAt(i + 1))).isTrue();
            }
        }
    }

    @Test
    void aLongExtensionIsNotKeptWhole() {
        String name = policy.sanitize("b".repeat(300) + "." + "e".repeat(40));
        assertThat(name.getBytes(StandardCharsets.UTF_8)).hasSize(FilenamePolicy.MAX_BYTES);
    }

    @Test
    void exactlyMaxBytesIsKept() {
        String raw = "c".repeat(FilenamePolicy.MAX_BYTES - 4) + ".txt";
        assertThat(policy.sanitize(raw)).isEqualTo(raw);
    }
}
