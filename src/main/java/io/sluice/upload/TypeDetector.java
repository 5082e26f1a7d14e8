package io.sluice.upload;

import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import io.sluice.util.Uninterruptibles;
import org.apache.tika.metadata.Metadata;
import org.apache.tika.mime.MediaType;
import org.apache.tika.mime.MediaTypeRegistry;
import org.apache.tika.mime.MimeType;
import org.apache.tika.mime.MimeTypeException;
import org.apache.tika.mime.MimeTypes;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * Decides an upload's content type from its first bytes, and refuses names that lie about the bytes.
 *
 * <p>The bytes are authoritative. The filename's extension may only make the answer more specific
 * ({@code application/zip} bytes named {@code .xlsx} are an xlsx); it may not contradict it: when the extension's
 * type, or an ancestor of it, has magic bytes, the bytes must show that magic ({@code .xlsx} on a shell script is
 * refused), and a text extension requires text bytes. Deeper checks of container formats (that a zip really holds
 * a workbook) belong to the processors, which open the file anyway.
 *
 * <p>Thread-safe: Tika's registry is read-only after loading, which takes a while, so build one per process.
 */
public final class TypeDetector {

    /** Bytes of the file's head that detection looks at; Tika's common magic sits well inside this. */
    public static final int HEAD_BYTES = 64 * 1024;

    private static final MediaType TEXT = MediaType.TEXT_PLAIN;
    private static final MediaType OCTETS = MediaType.OCTET_STREAM;

    /**
     * Tika's registry (about 0.25 s of XML parsing): loaded on a background thread from construction, so that a
     * server's start does not wait for it and its first upload rarely does; whoever needs it first runs or joins it.
     */
    private final FutureTask<Registry> loading = new FutureTask<>(Registry::load);
    private final TypePatterns allowed;

    /** @param allowedTypes lower-case patterns as {@link TypePatterns} reads them; empty allows all */
    public TypeDetector(List<String> allowedTypes) {
        Thread.ofPlatform().daemon().name("sluice-type-registry").start(loading);
        this.allowed = new TypePatterns(allowedTypes);
    }

    /**
     * @param head     the first bytes of the file (position..limit), not consumed
     * @param filename the sanitised filename
     * @return the content type to record
     * @throws ApiException 415 {@code type_mismatch} or {@code type_not_allowed}
     */
    public String detect(ByteBuffer head, String filename) {
        MediaType sniffed = sniff(head);
        MediaType byName = byName(filename);
        MediaType chosen = reconcile(sniffed, byName, filename);
        String type = chosen.getBaseType().toString();
        if (!isAllowed(chosen)) {
            throw ErrorCode.TYPE_NOT_ALLOWED.error("files of type " + type + " are not accepted",
                    Map.of("detectedType", type, "allowedTypes", allowed.patterns()));
        }
        return type;
    }

    /**
     * A content type a client declared ahead of its bytes (presigned uploads), as recorded: base type, lower case,
     * parameters dropped.
     *
     * @throws ApiException 400 {@code invalid_content_type} when it is not {@code type/subtype}; 415
     *                      {@code type_not_allowed} when {@code limits.allowedTypes} refuses it
     */
    public String declared(String contentType) {
        MediaType parsed = contentType == null ? null : MediaType.parse(contentType.strip().toLowerCase(Locale.ROOT));
        if (parsed == null) {
            throw ErrorCode.INVALID_CONTENT_TYPE.error("contentType must be a MIME type such as "
                    + "text/csv");
        }
        String type = parsed.getBaseType().toString();
        if (!isAllowed(parsed.getBaseType())) {
            throw ErrorCode.TYPE_NOT_ALLOWED.error("files of type " + type + " are not accepted",
                    Map.of("declaredType", type, "allowedTypes", allowed.patterns()));
        }
        return type;
    }

    /** Whether bytes detected as {@code detected} are what a client declared as {@code declared} (or a kind of it). */
    public boolean conforms(String detected, String declared) {
        MediaType d = MediaType.parse(detected);
        MediaType decl = MediaType.parse(declared);
        return d != null && decl != null && (d.equals(decl) || registry().isInstanceOf(d, decl));
    }

    private MediaType reconcile(MediaType sniffed, MediaType byName, String filename) {
        if (byName == null) {
            return sniffed;
        }
        MediaType magicAncestor = firstWithMagic(byName);
        if (magicAncestor != null) {
            if (registry().isInstanceOf(sniffed, magicAncestor)) {
                // Bytes show the family; the name may narrow it (zip -> xlsx) but not the other way round.
                return registry().isInstanceOf(byName, sniffed) ? byName : sniffed;
            }
            if (!sniffed.equals(OCTETS) && !sniffed.equals(TEXT) && registry().isInstanceOf(byName, sniffed)) {
                // Bytes show a more general family than the name's nearest magic: an xlsx written by openpyxl
                // (or carrying a sensitivity label) does not start with [Content_Types].xml, so Tika sees only
                // application/zip. The zip signature is the family's magic; the name narrows it.
                return byName;
            }
            throw mismatch(filename, byName, sniffed);
        }
        if (registry().isInstanceOf(byName, TEXT)) {
            if (registry().isInstanceOf(sniffed, TEXT)) {
                return registry().isInstanceOf(sniffed, byName) ? sniffed : byName;
            }
            throw mismatch(filename, byName, sniffed);
        }
        return sniffed.equals(OCTETS) ? byName : sniffed;
    }

    private ApiException mismatch(String filename, MediaType byName, MediaType sniffed) {
        return ErrorCode.TYPE_MISMATCH.error(
                "the content of '" + filename + "' is " + sniffed.getBaseType()
                + ", which does not match its extension ("
                        + byName.getBaseType() + ")",
                Map.of("detectedType", sniffed.getBaseType().toString(), "extensionType", byName.getBaseType().toString()));
    }

    /** What Tika's magic detection says about the head: {@link CompiledMagic}'s answer, or Tika's own. */
    MediaType sniff(ByteBuffer head) {
        byte[] bytes = headBytes(head);
        CompiledMagic compiled = registryLoaded().compiled();
        MediaType fast = compiled == null ? null : compiled.detect(bytes);
        return fast != null ? fast : sniffWithTika(bytes);
    }

    /** Tika's {@code MimeTypes.detect} on the head, as before {@link CompiledMagic}; the reference its tests compare to. */
    MediaType sniffWithTika(byte[] bytes) {
        try {
            return types().detect(new ByteArrayInputStream(bytes), new Metadata());
        } catch (IOException e) {
            return OCTETS;
        }
    }

    /** At most {@link #HEAD_BYTES} and at most Tika's {@code getMinLength()}, which is all it reads. */
    private byte[] headBytes(ByteBuffer head) {
        ByteBuffer dup = head.duplicate();
        byte[] bytes = new byte[Math.min(dup.remaining(), Math.min(HEAD_BYTES, types().getMinLength()))];
        dup.get(bytes);
        return bytes;
    }

    private MediaType byName(String filename) {
        MimeType t = types().getMimeType(filename);
        MediaType m = t == null ? null : t.getType();
        return m == null || m.equals(OCTETS) ? null : m;
    }

    private MediaType firstWithMagic(MediaType type) {
        for (MediaType t = type; t != null && !t.equals(OCTETS) && !t.equals(TEXT); t = registry().getSupertype(t)) {
            try {
                if (types().forName(t.toString()).hasMagic()) {
                    return t;
                }
            } catch (MimeTypeException e) {
                return null;
            }
        }
        return null;
    }

    private boolean isAllowed(MediaType type) {
        return allowed.accepts(type);
    }

    private MimeTypes types() {
        return registryLoaded().types();
    }

    private Registry registryLoaded() {
        loading.run(); // no-op when the background thread has started it: get() then waits for that run
        try {
            return Uninterruptibles.get(loading);
        } catch (ExecutionException e) {
            throw new IllegalStateException("Tika's type registry could not be loaded", e.getCause());
        }
    }

    /** Tika's registry and its magics compiled ({@code compiled} null when Tika's internals were not readable). */
    private record Registry(MimeTypes types, CompiledMagic compiled) {
        static Registry load() {
            MimeTypes types = MimeTypes.getDefaultMimeTypes();
            return new Registry(types, CompiledMagic.of(types).orElse(null));
        }
    }

    private MediaTypeRegistry registry() {
        return types().getMediaTypeRegistry();
    }
}
