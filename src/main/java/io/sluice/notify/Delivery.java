package io.sluice.notify;

import java.util.List;
import java.util.Locale;

/** One webhook delivery: an event's payload and the URLs to try, and how its attempts went. Times in epoch ms. */
public record Delivery(long id, long eventId, String eventType, String payload, List<String> urls, State state,
                       int attempt, long nextAttemptAt, String lastUrl, Integer lastStatus, String lastError,
                       Long deliveredAt, long createdAt, long updatedAt) {

    public enum State {
        PENDING, DELIVERED, FAILED;

        public String dbValue() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static State fromDb(String s) {
            return valueOf(s.toUpperCase(Locale.ROOT));
        }
    }
}
