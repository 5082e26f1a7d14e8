package io.sluice.config;

import java.time.Duration;
import java.util.List;

/**
 * Webhooks ({@code io.sluice.notify}).
 *
 * @param urls        webhook URLs every event goes to, tried after the pipeline's own {@code notify} URLs (each
 *                    attempt tries the list in order until one accepts)
 * @param secret      the HMAC-SHA256 signing secret; empty means "generate one at first start and keep it in
 *                    {@code <dataDir>/webhook-secret}"
 * @param backoffBase delay before the second attempt of a delivery; it doubles per attempt up to
 *                    {@link #BACKOFF_CAP}
 * @param maxAttempts attempts of a delivery before it is marked failed
 * @param progressInterval {@code job.progress} goes to webhooks at most this often per job; zero: never
 */
public record WebhooksConfig(List<String> urls, String secret, Duration backoffBase, int maxAttempts,
                             Duration progressInterval) {

    public static final Duration DEFAULT_BACKOFF_BASE = Duration.ofSeconds(30);
    /** 30s doubling, capped at 1h, 16 attempts: retried for about 10 hours (5 to 10 with jitter). */
    public static final int DEFAULT_MAX_ATTEMPTS = 16;
    public static final Duration BACKOFF_CAP = Duration.ofHours(1);
    public static final int MIN_SECRET_LENGTH = 16;

    public WebhooksConfig {
        urls = List.copyOf(urls);
    }

    public static WebhooksConfig defaults() {
        return new WebhooksConfig(List.of(), "", DEFAULT_BACKOFF_BASE, DEFAULT_MAX_ATTEMPTS, Duration.ZERO);
    }
}
