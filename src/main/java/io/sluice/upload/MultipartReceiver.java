package io.sluice.upload;

import io.sluice.api.ApiException;
import io.sluice.api.ErrorCode;
import io.sluice.api.StrictPartsListener;
import io.sluice.hooks.Allowed;
import io.sluice.storage.DiskLedger;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.io.Content;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Receives a multipart/form-data body part by part from Jetty's push parser. File parts stream into
 * {@link FileSink}s as they arrive; nothing is buffered whole (Jetty's {@code MultiPartFormData} would spill parts
 * to temp files of its own, a second copy we do not want). Small text fields are kept, capped, as metadata.
 *
 * <p>Jetty's parser swallows listener exceptions, so the first failure is recorded here and the caller checks
 * {@link #throwIfFailed()} after every chunk; once failed, later events are ignored. {@link #close()} aborts every
 * sink that was not committed.
 */
final class MultipartReceiver extends StrictPartsListener implements AutoCloseable {

    static final int MAX_FIELD_BYTES = 8 * 1024;

    private final UploadService service;
    private final ByteBuffer buffer;
    private final ByteBuffer second;
    private final long maxFileSize;
    private final DiskLedger.Reservation disk;
    /** For the preCreate hook: who sends the request. */
    private final String owner;
    private final String client;
    private final String address;
    private final List<FileSink> sinks = new ArrayList<>();
    private final Map<String, String> fields = new LinkedHashMap<>();
    private FileSink current;
    private ByteArrayOutputStream field;
    private boolean skippingEmptyFileInput;
    private String partType;

    /**
     * @param maxFileSize the caller's file size limit (an API key's own, or {@code limits.maxFileSize})
     * @param disk        the request's disk reservation, shared by all its files
     * @param owner       the API key the files will belong to (null in open mode), for the preCreate hook
     * @param client      the client as recorded on the uploads, and {@code address} the remote address, likewise
     */
    MultipartReceiver(UploadService service, ByteBuffer buffer, ByteBuffer second, int maxFiles, long maxFileSize,
                      DiskLedger.Reservation disk, String owner, String client, String address) {
        super(maxFiles);
        this.owner = owner;
        this.client = client;
        this.address = address;
        this.disk = disk;
        this.maxFileSize = maxFileSize;
        this.service = service;
        this.buffer = buffer;
        this.second = second;
    }

    @Override
    public void onPartHeaders() {
        if (failed()) {
            return;
        }
        try {
            // form-data parts are named (RFC 7578 section 4.2), file parts too: a nameless one is not a form.
            if (getName() == null || getName().isEmpty()) {
                throw ErrorCode.MALFORMED_MULTIPART.error("a form part has no name");
            }
            String fileName = getFileName();
            if (fileName != null) {
                if (fileName.isEmpty()) {
                    // A browser form with a file input left empty sends filename="" and no bytes: not a file.
                    skippingEmptyFileInput = true;
                    return;
                }
                if (sinks.size() >= maxFiles) {
                    throw ErrorCode.TOO_MANY_FILES.error(
                            "at most " + maxFiles + " files may be sent in one request", Map.of("limit", maxFiles));
                }
                long before = sinks.stream().mapToLong(FileSink::size).sum();
                String name = service.sanitize(fileName);
                // preCreate: here, at the part's headers, because only here is its name known; no byte of it is
                // stored before the application answers (the fields before it are its metadata).
                Allowed hook = HookCalls.preCreate(service.hooks(), name, null, partType, fields, pipelineField(),
                        owner, client, address);
                current = service.open(hook.filename(name), buffer, second, maxFileSize, disk, before).hooked(hook);
                sinks.add(current);
            } else {
                if (fields.size() >= MAX_FIELDS) {
                    throw tooManyFields();
                }
                field = new ByteArrayOutputStream();
            }
        } catch (Exception e) {
            fail(e);
        }
    }

    @Override
    public void onPartHeader(String name, String value) {
        super.onPartHeader(name, value);
        if ("Content-Type".equalsIgnoreCase(name)) {
            partType = value == null || value.isBlank() ? null : value.strip();
        }
    }

    private String pipelineField() {
        String p = fields.get(UploadProcessing.PIPELINE_FIELD);
        return p == null || p.isBlank() ? null : p.strip();
    }

    @Override
    public void onPartContent(Content.Chunk chunk) {
        try {
            if (failed() || !chunk.hasRemaining()) {
                return;
            }
            ByteBuffer bytes = chunk.getByteBuffer();
            if (current != null) {
                current.write(bytes);
            } else if (field != null) {
                if (field.size() + bytes.remaining() > MAX_FIELD_BYTES) {
                    throw ErrorCode.FIELD_TOO_LARGE.error(
                            "form field '" + getName() + "' is longer than " + MAX_FIELD_BYTES + " bytes",
                            Map.of("limit", MAX_FIELD_BYTES));
                }
                byte[] tmp = new byte[bytes.remaining()];
                bytes.get(tmp);
                field.write(tmp);
            } else if (skippingEmptyFileInput) {
                throw ErrorCode.INVALID_FILENAME.error("a file part has an empty filename");
            }
        } catch (Exception e) {
            fail(e);
        }
        // No release: the parser hands us slices of the request chunk without retaining it, and the body loop
        // releases that chunk once parse() returns.
    }

    @Override
    public void onPart(String name, String fileName, HttpFields headers) {
        if (failed()) {
            return;
        }
        try {
            if (current != null) {
                current.finish();
            } else if (field != null) {
                String value = field.toString(StandardCharsets.UTF_8);
                if (UploadProcessing.PIPELINE_FIELD.equals(name) && !value.isBlank()) {
                    // A form that names its pipeline before its files learns of a typo before sending them.
                    service.processing().checkName(value.strip());
                }
                fields.put(name, value);
            }
        } catch (Exception e) {
            fail(e);
        } finally {
            current = null;
            field = null;
            partType = null;
            skippingEmptyFileInput = false;
        }
    }

    /** The files, after the whole body was parsed successfully. */
    List<FileSink> files() throws IOException {
        requireComplete();
        if (sinks.isEmpty()) {
            throw ErrorCode.NO_FILES.error("the request contains no file part");
        }
        return List.copyOf(sinks);
    }

    Map<String, String> fields() {
        return Map.copyOf(fields);
    }

    @Override
    public void close() {
        for (FileSink s : sinks) {
            s.close();
        }
    }
}
