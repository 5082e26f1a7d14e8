package io.sluice.hooks;

import io.sluice.api.ApiException;

import java.util.Map;

/**
 * The application's say over uploads: two synchronous questions Sluice asks it, each at most once per event and
 * never retried by Sluice (a decision, not a notification).
 *
 * <p>Contract for callers (the upload paths):
 * <ul>
 *   <li>{@link #preCreate} runs before anything of the upload exists (no row, no blob; for multipart, at the file
 *       part's headers, before its first byte is stored) and, where the request's shape allows, before admission,
 *       so a slow application holds no upload slot. Its {@link Allowed} is applied to what is created.</li>
 *   <li>{@link #preFinish} runs once every byte is stored and before the upload is recorded, listed or queued: a
 *       crash while it waits leaves what any unfinished upload leaves (a staged file the start-up sweep removes, or
 *       a resumable upload in state {@code finishing} that recovery finishes by asking again).</li>
 *   <li>A refusal is an {@link ApiException} {@code hook_refused} with the application's 4xx status and message;
 *       the caller removes what it stored and answers it to the client. A failed call (timeout, a status other than
 *       200, a malformed answer) is {@code 503 hook_unavailable} with {@code Retry-After}, unless
 *       {@code hooks.failOpen} lets the upload through.</li>
 * </ul>
 * Implementations are safe to call from many request threads at once.
 */
public interface UploadHooks {

    /**
     * Asks whether an upload may be created.
     *
     * @return what the application changes (or {@link Allowed#AS_ASKED})
     * @throws ApiException {@code hook_refused} (the application's 4xx) or 503 {@code hook_unavailable}
     */
    Allowed preCreate(PreCreate upload);

    /**
     * Asks whether a stored upload may be kept (listed, queued). Only {@code allow} of the answer counts.
     *
     * @throws ApiException {@code hook_refused} (the application's 4xx) or 503 {@code hook_unavailable}
     */
    void preFinish(PreFinish upload);

    /**
     * What the dashboard's System panel shows: each hook's host (never the path or query, which may carry a token),
     * {@code failOpen}, the timeout and the calls so far by outcome. Empty when no hook is configured.
     */
    Map<String, Object> status();

    /** No hooks configured: every upload is allowed as asked, nothing is called. */
    UploadHooks NONE = new UploadHooks() {
        @Override
        public Allowed preCreate(PreCreate upload) {
            return Allowed.AS_ASKED;
        }

        @Override
        public void preFinish(PreFinish upload) {
        }

        @Override
        public Map<String, Object> status() {
            return Map.of();
        }
    };
}
