package io.sluice.storage.s3;

import io.sluice.config.ConfigException;
import io.sluice.config.ConfigLoader;
import io.sluice.config.SluiceConfig;
import io.sluice.config.StorageConfig;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The {@code storage.*} keys: defaults, a full S3 setting, and every contradiction refused in one line. */
class S3ConfigTest {

    private static SluiceConfig load(String... kv) throws ConfigException {
        Map<String, String> overrides = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            overrides.put(kv[i], kv[i + 1]);
        }
        return ConfigLoader.load(null, Map.of(), overrides);
    }

    private static void refused(String key, String messagePart, String... kv) {
        assertThatThrownBy(() -> load(kv)).isInstanceOf(ConfigException.class)
                .satisfies(e -> {
                    assertThat(((ConfigException) e).key()).isEqualTo(key);
                    assertThat(e.getMessage()).contains(messagePart).doesNotContain("\n")
                            .doesNotContain("supersecretvalue");
                });
    }

    @Test
    void localIsTheDefault() throws Exception {
        SluiceConfig c = load();
        assertThat(c.storage()).isEqualTo(StorageConfig.LOCAL);
        assertThat(c.storage().downloads()).isEqualTo(S3Settings.Downloads.STREAM);
    }

    @Test
    void fullS3Settings() throws Exception {
        SluiceConfig c = load("storage.type", "S3", "storage.s3.endpoint", "http://127.0.0.1:9000/",
                "storage.s3.region", "eu-west-3", "storage.s3.bucket", "my.bucket-1",
                "storage.s3.accessKey", "AK", "storage.s3.secretKey", "supersecretvalue",
                "storage.s3.pathStyle", "yes", "storage.s3.prefix", "team/sluice", "storage.s3.partSize", "16MiB",
                "storage.downloads", "redirect", "storage.presignExpiry", "1h");
        S3Settings s = c.storage().s3();
        assertThat(c.storage().type()).isEqualTo(StorageConfig.Type.S3);
        assertThat(s.endpoint()).isEqualTo(URI.create("http://127.0.0.1:9000"));
        assertThat(s.region()).isEqualTo("eu-west-3");
        assertThat(s.bucket()).isEqualTo("my.bucket-1");
        assertThat(s.staticCredentials()).isTrue();
        assertThat(s.pathStyle()).isTrue();
        assertThat(s.prefix()).isEqualTo("team/sluice/");
        assertThat(s.blobObject("abcdefgh12")).isEqualTo("team/sluice/blobs/abcdefgh12");
        assertThat(s.partSize()).isEqualTo(16L << 20);
        assertThat(s.downloads()).isEqualTo(S3Settings.Downloads.REDIRECT);
        assertThat(s.presignExpiry()).isEqualTo(Duration.ofHours(1));
        assertThat(s.toString()).doesNotContain("supersecretvalue");
    }

    @Test
    void contradictionsAreRefusedAtStartUp() {
        refused("storage.s3.bucket", "is required with storage.type ('s3')", "storage.type", "s3");
        refused("storage.s3.bucket", "set storage.type: s3", "storage.s3.bucket", "abc");
        refused("storage.downloads", "needs storage.type: s3", "storage.downloads", "redirect");
        refused("storage.s3.secretKey", "must be set together with storage.s3.accessKey",
                "storage.type", "s3", "storage.s3.bucket", "abc", "storage.s3.accessKey", "AK");
        // The secret is never echoed, even when the rule is about the other key.
        refused("storage.s3.secretKey", "'(set)'",
                "storage.type", "s3", "storage.s3.bucket", "abc", "storage.s3.secretKey", "supersecretvalue");
        refused("storage.s3.partSize", "is too small for limits.maxFileSize",
                "storage.type", "s3", "storage.s3.bucket", "abc", "limits.maxFileSize", "100GiB",
                "limits.maxRequestSize", "500GiB");
        refused("storage.s3.partSize", "must be between 5MiB and 5GiB", "storage.s3.partSize", "1MiB");
        refused("storage.type", "is not one of local, s3", "storage.type", "gcs");
        refused("storage.s3.endpoint", "is not an endpoint URL", "storage.s3.endpoint", "ftp://x");
        refused("storage.s3.endpoint", "is not an endpoint URL", "storage.s3.endpoint", "http://h/path");
        refused("storage.s3.bucket", "is not a bucket name", "storage.s3.bucket", "Up_per");
        refused("storage.s3.prefix", "is not a key prefix", "storage.s3.prefix", "/abs");
        refused("storage.s3.prefix", "is not a key prefix", "storage.s3.prefix", "a/../b");
        refused("storage.presignExpiry", "must be between 1s and 7d", "storage.presignExpiry", "8d");
    }
}
