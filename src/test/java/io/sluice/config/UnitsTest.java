package io.sluice.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class UnitsTest {

    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource({
            "0, 0",
            "1048576, 1048576",
            "10B, 10",
            "10KB, 10000",
            "10MB, 10000000",
            "10GB, 10000000000",
            "10TB, 10000000000000",
            "512KiB, 524288",
            "5MiB, 5242880",
            "5GiB, 5368709120",
            "1TiB, 1099511627776",
            "10mb, 10000000",
            "5gib, 5368709120",
            "5GIB, 5368709120",
            "'10 MB', 10000000",
            "' 256KiB ', 262144",
            "1.5GiB, 1610612736",
            "1.5KiB, 1536",
            "0.0001KiB, 0",
            "1.9B, 1",
            "9223372036854775807, 9223372036854775807",
    })
    void parsesSizes(String text, long bytes) {
        assertThat(Units.parseSize(text)).isEqualTo(bytes);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "   ", "-1", "-5MB", "abc", "10XB", "10K", "10 M", "1e6", "1.2.3MB", "MB", "1,5GB",
            "+5MB", ".5MB", "5.MB", "10 MB s"})
    void rejectsMalformedSizesSayingWhatIsAccepted(String text) {
        assertThatThrownBy(() -> Units.parseSize(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("KiB")
                .hasMessageContaining("MB");
    }

    @Test
    void rejectsNull() {
        assertThatThrownBy(() -> Units.parseSize(null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Units.parseDuration(null)).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"9223372036854775808", "8388608TiB", "99999999999999999999TB"})
    void rejectsSizesBeyondLong(String text) {
        assertThatThrownBy(() -> Units.parseSize(text))
                .isInstanceOf(Units.TooLarge.class)
                .hasMessageContaining("too large");
    }

    @Test
    void unknownUnitIsNamed() {
        assertThatThrownBy(() -> Units.parseSize("10XB")).hasMessageContaining("unknown size unit 'XB'");
    }

    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource({
            "500ms, PT0.5S",
            "30s, PT30S",
            "5m, PT5M",
            "2h, PT2H",
            "1d, PT24H",
            "30, PT30S",
            "0, PT0S",
            "0s, PT0S",
            "1m30s, PT1M30S",
            "'1h 30m', PT1H30M",
            "1d2h3m4s5ms, PT26H3M4.005S",
            "1.5s, PT1.5S",
            "1.5, PT1.5S",
            "5M, PT5M",
            "500MS, PT0.5S",
            "PT30S, PT30S",
            "pt1m, PT1M",
            "' 10s ', PT10S",
    })
    void parsesDurations(String text, String iso) {
        assertThat(Units.parseDuration(text)).isEqualTo(Duration.parse(iso));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "-5s", "-1", "soon", "5x", "5 minutes", "s", "1m30", "m1", "PT-5S", "-PT5S",
            "P", "1.s", "5sec"})
    void rejectsMalformedDurations(String text) {
        assertThatThrownBy(() -> Units.parseDuration(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("500ms");
    }

    @Test
    void rejectsDurationsBeyondRange() {
        assertThatThrownBy(() -> Units.parseDuration("999999999999999999999d")).isInstanceOf(Units.TooLarge.class);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "0, 0B",
            "1, 1B",
            "1500, 1500B",
            "1000, 1KB",
            "10000000, 10MB",
            "1024, 1KiB",
            "262144, 256KiB",
            "16384, 16KiB",
            "52428800, 50MiB",
            "10737418240, 10GiB",
            "1099511627776, 1TiB",
            "1536, 1536B",
    })
    void formatsSizes(long bytes, String text) {
        assertThat(Units.formatSize(bytes)).isEqualTo(text);
    }

    @ParameterizedTest
    @ValueSource(longs = {0, 1, 999, 1000, 1023, 1024, 1536, 1_000_000, 5L << 30, 50L << 30, 123_456_789_012L,
            Long.MAX_VALUE})
    void formattedSizesParseBack(long bytes) {
        assertThat(Units.parseSize(Units.formatSize(bytes))).isEqualTo(bytes);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "PT0S, 0s",
            "PT30S, 30s",
            "PT0.5S, 500ms",
            "PT1M30S, 1m30s",
            "PT2H, 2h",
            "PT26H, 1d2h",
            "PT1H0.25S, 1h250ms",
    })
    void formatsDurations(String iso, String text) {
        assertThat(Units.formatDuration(Duration.parse(iso))).isEqualTo(text);
    }

    @ParameterizedTest
    @ValueSource(strings = {"PT0S", "PT0.001S", "PT1.5S", "PT59M59.999S", "PT49H", "PT0.0000015S", "PT1H0.000000001S"})
    void formattedDurationsParseBack(String iso) {
        Duration d = Duration.parse(iso);
        assertThat(Units.parseDuration(Units.formatDuration(d))).isEqualTo(d);
    }
}
