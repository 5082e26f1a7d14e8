package io.sluice.admission;

/** The outcome of asking for admission. */
public sealed interface Decision {

    record Admitted(Ticket ticket) implements Decision {
    }

    record Rejected(Rejection rejection) implements Decision {
    }

    /** The client went away while its request waited: nothing is held and nobody is left to answer. */
    record Abandoned() implements Decision {
    }
}
