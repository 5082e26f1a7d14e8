package io.sluice.upload;

import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import io.sluice.hooks.Allowed;
import io.sluice.hooks.Caller;
import io.sluice.hooks.PreCreate;
import io.sluice.hooks.PreFinish;
import io.sluice.hooks.UploadHooks;

import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The upload paths' one-line calls into {@link UploadHooks}: each builds the hook's request from what its path
 * has and applies the answer. Where each runs (README "Upload hooks", docs/decisions.md "Upload hooks"):
 * <ul>
 *   <li>PUT and presign: preCreate before admission and the body; multipart: at each file part's headers, before
 *       its first byte is stored (its name is only known there), under the request's ticket.</li>
 *   <li>tus / IETF creation: preCreate first thing in {@link ResumableService#create} (the metadata it returns is
 *       what the upload row keeps); finish: preFinish in {@code ResumableService.finish}, after the pipeline is
 *       planned and before the transaction that lists the upload, so a crash while it waits leaves the upload
 *       {@code finishing}, unlisted and without a job, and recovery asks again.</li>
 *   <li>Direct uploads (and tus creation-with-upload, concatenation): preFinish in {@link UploadService#commit}
 *       once the staged files are complete and before they are moved into place: a crash leaves staged files,
 *       which the start-up sweep removes.</li>
 * </ul>
 */
final class HookCalls {

    /** Metadata keys a tus or IETF client declares its file's type under, in the order looked at. */
    private static final List<String> TYPE_KEYS = List.of("filetype", "type", "contentType", "content-type");

    /** What a path runs when the preFinish hook refuses (only then: a failed call keeps what can be asked again). */
    @FunctionalInterface
    interface OnRefusal {
        void remove() throws SQLException;
    }

    private HookCalls() {
    }

    /** preCreate of a direct upload or a presigned one, before anything is stored. */
    static Allowed preCreate(UploadHooks hooks, String filename, Long size, String type,
                             Map<String, String> metadata, String pipeline, String owner, String client,
                             String address) {
        return hooks.preCreate(new PreCreate(filename, size, type, metadata, pipeline, Caller.ofOwner(owner), client,
                address));
    }

    /** preCreate of a resumable upload: the spec with the answer applied (the pipeline goes into its metadata). */
    static ResumableService.NewUpload preCreate(UploadHooks hooks, ResumableService.NewUpload spec) {
        Map<String, String> visible = TokenTypes.strip(spec.metadata());
        Allowed a = hooks.preCreate(new PreCreate(spec.filename(),
                spec.length() == Resumable.DEFERRED ? null : spec.length(), declaredType(visible),
                visible, ResumableCore.pipeline(visible), Caller.ofOwner(spec.owner()),
                spec.client(), spec.address()));
        if (a == Allowed.AS_ASKED) {
            return spec;
        }
        Map<String, String> metadata = new LinkedHashMap<>(a.metadata(visible));
        // The token's types are the server's, not the application's to change.
        String tokenTypes = spec.metadata().get(TokenTypes.KEY);
        if (tokenTypes != null) {
            metadata.put(TokenTypes.KEY, tokenTypes);
        }
        if (a.pipeline() != null) {
            metadata.put(UploadProcessing.PIPELINE_FIELD, a.pipeline());
        }
        return new ResumableService.NewUpload(spec.length(), Map.copyOf(metadata), spec.rawMetadata(),
                a.filename(spec.filename()), spec.partial(), spec.client(), spec.owner(), spec.maxSize(),
                spec.address());
    }

    private static String declaredType(Map<String, String> metadata) {
        for (String key : TYPE_KEYS) {
            String v = metadata.get(key);
            if (v != null && !v.isBlank()) {
                return v.strip();
            }
        }
        return null;
    }

    /**
     * preFinish of each finished, not yet committed sink of {@link UploadService#commit}; a refusal of any refuses
     * the request (its files commit together or not at all). The caller's sinks remove the staged files.
     */
    static void preFinish(UploadHooks hooks, List<FileSink> sinks, Map<String, String> metadata, String pipeline,
                          String owner, String client) {
        for (FileSink s : sinks) {
            hooks.preFinish(new PreFinish(s.id(), s.filename(), s.size(), s.contentType(), s.sha256Hex(),
                    s.hooked().metadata(metadata), s.hooked().pipeline(pipeline), Caller.ofOwner(owner), client));
        }
    }

    /**
     * preFinish of an upload whose bytes are in their final place but not recorded (a finished resumable upload, a
     * presigned upload's object): a refusal runs {@code onRefusal} (removing it) and is rethrown; a failed call
     * leaves it for the client (or recovery) to ask again.
     */
    static void preFinish(UploadHooks hooks, Upload u, String pipeline, OnRefusal onRefusal) throws SQLException {
        try {
            hooks.preFinish(new PreFinish(u.id(), u.filename(), u.size(), u.contentType(), u.sha256(), u.metadata(),
                    pipeline, Caller.ofOwner(u.owner()), u.client()));
        } catch (ApiException e) {
            if (e.is(ErrorCode.HOOK_REFUSED)) {
                onRefusal.remove();
            }
            throw e;
        }
    }
}
