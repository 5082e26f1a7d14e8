package io.sluice.processors.spreadsheet;

import java.io.IOException;
import java.util.function.Supplier;

/**
 * What a part's reader asks of its guarded bytes besides the bytes: a limit on one element, the position, and the
 * refusal a guard threw (which the XML parser may have wrapped). {@link GuardedInputStream} checks in the reading
 * thread; {@link ReadAhead} inflates and checks on a second thread and answers these for the parsing one.
 */
interface GuardedInput {

    /**
     * Refuses with {@code failure} once more than {@code bytes} are read from here on (one element: a row, a shared
     * string), so that what a parser builds whole stays bounded while it is being built; {@link #endElement} lifts it.
     */
    GuardedInput element(long bytes, Supplier<SheetException> failure);

    /** Lifts the limit {@link #element} set. */
    void endElement();

    /** Inflated bytes handed to the reader so far. */
    long position();

    /** Rethrows what a limit threw, if one tripped; parsers may have wrapped it. */
    void throwIfTripped() throws SheetException, IOException;
}
