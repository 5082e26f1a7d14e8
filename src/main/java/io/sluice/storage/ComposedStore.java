package io.sluice.storage;

import java.util.Objects;
import java.util.Optional;

/**
 * One backend's storage, assembled once at start-up: the two capabilities every backend has (committed blobs and
 * resumable blobs) and the optional ones it may offer. Callers ask {@link #hasAssembler()} and friends instead of
 * testing the store's class, and a backend states what it offers in one place (its {@code composed} factory).
 *
 * <p>The parts may be one object ({@link io.sluice.storage.local.LocalBlobStore} is all of them) or several over
 * one client (S3: committed blobs, presigning and listing in one class, resumable blobs and assembly in another).
 *
 * @param blobs      committed blobs
 * @param resumable  blobs that grow over many requests, invisible to {@code blobs} until promoted
 * @param assembler  server-side concatenation of finished resumable blobs
 * @param presigner  URLs a client sends bytes to directly
 * @param keyListing committed keys by prefix
 * @param localPaths committed blobs as files on this machine
 * @param closer     releases what the backend holds (an HTTP client); does nothing for local disk
 */
public record ComposedStore(BlobStore blobs, ResumableStore resumable, Optional<Assembler> assembler,
                            Optional<Presigner> presigner, Optional<KeyListing> keyListing,
                            Optional<LocalPaths> localPaths, AutoCloseable closer) implements AutoCloseable {

    public ComposedStore {
        Objects.requireNonNull(blobs, "blobs");
        Objects.requireNonNull(resumable, "resumable");
        Objects.requireNonNull(assembler, "assembler");
        Objects.requireNonNull(presigner, "presigner");
        Objects.requireNonNull(keyListing, "keyListing");
        Objects.requireNonNull(localPaths, "localPaths");
        Objects.requireNonNull(closer, "closer");
    }

    /** Only the required capabilities; add optional ones with the {@code with...} methods. */
    public static ComposedStore of(BlobStore blobs, ResumableStore resumable) {
        return new ComposedStore(blobs, resumable, Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), () -> {
                });
    }

    public ComposedStore withAssembler(Assembler a) {
        return new ComposedStore(blobs, resumable, Optional.of(a), presigner, keyListing, localPaths, closer);
    }

    public ComposedStore withPresigner(Presigner p) {
        return new ComposedStore(blobs, resumable, assembler, Optional.of(p), keyListing, localPaths, closer);
    }

    public ComposedStore withKeyListing(KeyListing l) {
        return new ComposedStore(blobs, resumable, assembler, presigner, Optional.of(l), localPaths, closer);
    }

    public ComposedStore withLocalPaths(LocalPaths p) {
        return new ComposedStore(blobs, resumable, assembler, presigner, keyListing, Optional.of(p), closer);
    }

    public ComposedStore closedBy(AutoCloseable c) {
        return new ComposedStore(blobs, resumable, assembler, presigner, keyListing, localPaths, c);
    }

    /** Concatenation without the bytes passing through Sluice (tus {@code Upload-Concat: final}). */
    public boolean hasAssembler() {
        return assembler.isPresent();
    }

    public boolean hasPresigner() {
        return presigner.isPresent();
    }

    public boolean hasKeyListing() {
        return keyListing.isPresent();
    }

    public boolean hasLocalPaths() {
        return localPaths.isPresent();
    }

    @Override
    public void close() throws Exception {
        closer.close();
    }
}
