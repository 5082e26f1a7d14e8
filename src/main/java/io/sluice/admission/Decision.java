package io.sluice.admission;

/** The outcome of asking for admission. */
public sealed interface Decision {

    record Admitted(Ticket ticket) implements Decision {
    }

    record Rejected(Rejection rejection) implements Decision {
    }
}
