package io.sluice.config;

import io.sluice.storage.s3.S3Settings;

import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import static io.sluice.config.ConfigKeys.*;

/**
 * Rules between two keys, checked after every key has been read on its own. The exception's key is the first one;
 * the relation names the second, with the value it has.
 */
final class CrossRules {

    private CrossRules() {
    }

    record CrossRule(Key<?> key, Key<?> other, Predicate<Values> violated, String relation) {
    }

    static final List<CrossRule> CROSS_RULES = List.of(
            new CrossRule(LIMITS_MAX_REQUEST_SIZE, LIMITS_MAX_FILE_SIZE,
                    v -> v.get(LIMITS_MAX_REQUEST_SIZE) < v.get(LIMITS_MAX_FILE_SIZE),
                    "must be at least %s, so that a request can carry its largest file"),
            new CrossRule(ADMISSION_MAX_UPLOADS_PER_CLIENT, ADMISSION_MAX_CONCURRENT_UPLOADS,
                    v -> v.get(ADMISSION_MAX_UPLOADS_PER_CLIENT) > v.get(ADMISSION_MAX_CONCURRENT_UPLOADS),
                    "must not exceed %s"),
            new CrossRule(SERVER_ADMIN_PORT, SERVER_PORT,
                    v -> v.get(SERVER_ADMIN_PORT) != 0 && v.get(SERVER_PORT) != 0
                            && v.get(SERVER_ADMIN_PORT).equals(v.get(SERVER_PORT)),
                    "must differ from %s (0 turns the admin port off)"),
            new CrossRule(ADMISSION_MEMORY_BUDGET, ADMISSION_BUFFER_SIZE,
                    v -> v.get(ADMISSION_MEMORY_BUDGET) != 0
                            && v.get(ADMISSION_MEMORY_BUDGET) < 2L * v.get(ADMISSION_BUFFER_SIZE),
                    "must be 0 (auto) or at least twice %s, so that one upload's two buffers fit"),
            new CrossRule(TUS_MAX_METADATA_SIZE, SERVER_MAX_REQUEST_HEADER_SIZE,
                    v -> v.get(TUS_MAX_METADATA_SIZE) >= v.get(SERVER_MAX_REQUEST_HEADER_SIZE),
                    "must be below %s, or the header could never arrive"),
            new CrossRule(LOGGING_TOTAL_SIZE_CAP, LOGGING_MAX_FILE_SIZE,
                    v -> v.get(LOGGING_TOTAL_SIZE_CAP) < v.get(LOGGING_MAX_FILE_SIZE),
                    "must be at least %s"),
            new CrossRule(JOBS_BACKOFF_CAP, JOBS_BACKOFF_BASE,
                    v -> v.get(JOBS_BACKOFF_CAP).compareTo(v.get(JOBS_BACKOFF_BASE)) < 0,
                    "must be at least %s"),
            new CrossRule(STORAGE_S3_BUCKET, STORAGE_TYPE,
                    v -> v.get(STORAGE_TYPE) == StorageConfig.Type.S3 && v.get(STORAGE_S3_BUCKET).isEmpty(),
                    "is required with %s"),
            new CrossRule(STORAGE_S3_BUCKET, STORAGE_TYPE,
                    v -> v.get(STORAGE_TYPE) == StorageConfig.Type.LOCAL && !v.get(STORAGE_S3_BUCKET).isEmpty(),
                    "is set but %s would ignore it; set storage.type: s3"),
            new CrossRule(STORAGE_DOWNLOADS, STORAGE_TYPE,
                    v -> v.get(STORAGE_DOWNLOADS) == S3Settings.Downloads.REDIRECT
                            && v.get(STORAGE_TYPE) != StorageConfig.Type.S3,
                    "needs storage.type: s3, not %s: local disk has no presigned URLs"),
            new CrossRule(STORAGE_S3_SECRET_KEY, STORAGE_S3_ACCESS_KEY,
                    v -> v.get(STORAGE_S3_SECRET_KEY).isEmpty() != v.get(STORAGE_S3_ACCESS_KEY).isEmpty(),
                    "must be set together with %s (both empty: the SDK's default credential chain)"),
            new CrossRule(STORAGE_S3_PART_SIZE, LIMITS_MAX_FILE_SIZE,
                    v -> v.get(STORAGE_TYPE) == StorageConfig.Type.S3
                            && v.get(STORAGE_S3_PART_SIZE) < ceilDiv(v.get(LIMITS_MAX_FILE_SIZE), S3Settings.MAX_PARTS),
                    "is too small for %s: S3 allows " + S3Settings.MAX_PARTS + " parts per object"));

    static long ceilDiv(long a, long b) {
        return -Math.floorDiv(-a, b);
    }

    /**
     * Defaults that must follow what the operator did set, then every rule: the first one violated is the
     * exception.
     *
     * @param given the keys the operator set (from any source)
     */
    static void apply(Values values, Map<String, Raw> given) throws ConfigException {
        // A default must not contradict what the operator did set: a lower global cap lowers the per-client share.
        if (!given.containsKey(ADMISSION_MAX_UPLOADS_PER_CLIENT.name())) {
            int share = Math.min(values.get(ADMISSION_MAX_UPLOADS_PER_CLIENT), values.get(ADMISSION_MAX_CONCURRENT_UPLOADS));
            values.parsed().put(ADMISSION_MAX_UPLOADS_PER_CLIENT.name(), share);
            values.shown().put(ADMISSION_MAX_UPLOADS_PER_CLIENT.name(), String.valueOf(share));
        }
        for (CrossRule rule : CROSS_RULES) {
            if (rule.violated().test(values)) {
                String other = rule.other().name() + " ('" + values.shown().get(rule.other().name()) + "')";
                throw new ConfigException(rule.key().name(),
                        "'" + values.shown().get(rule.key().name()) + "' " + rule.relation().formatted(other));
            }
        }
    }
}
