package io.sluice.config;

import io.sluice.storage.s3.S3Settings;

/**
 * Where upload bytes live.
 *
 * @param type local disk under {@code dataDir} (the default) or an S3-compatible bucket
 * @param s3   the bucket's settings; present (and validated) only when {@code type} is {@link Type#S3}
 */
public record StorageConfig(Type type, S3Settings s3) {

    public enum Type { LOCAL, S3 }

    public static final StorageConfig LOCAL = new StorageConfig(Type.LOCAL, null);

    public StorageConfig {
        if (type == Type.S3 && s3 == null) {
            throw new IllegalArgumentException("storage.type s3 needs its settings");
        }
    }

    /** How downloads are served: always streamed from local disk. */
    public S3Settings.Downloads downloads() {
        return s3 == null ? S3Settings.Downloads.STREAM : s3.downloads();
    }
}
