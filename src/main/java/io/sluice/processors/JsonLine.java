package io.sluice.processors;

import com.fasterxml.jackson.core.JsonGenerator;

import java.io.IOException;

/**
 * A row that writes itself as one JSON value with plain generator calls, needing nothing of a serializer provider.
 * {@link FileContext} streams such rows straight into its generator: a Jackson {@code writeValue} builds a
 * serializer provider for every call, which for a million-row spreadsheet was 80 MB of garbage and a tenth of the
 * JSON writing's CPU.
 */
public interface JsonLine {
    /** Writes this row as one JSON value (no newline); fails for nothing but I/O. */
    void writeTo(JsonGenerator g) throws IOException;
}
