package io.sluice.db;

/** The SQL dialects Sluice speaks. Statements that differ between them branch on this, in this package only. */
public enum Dialect {
    SQLITE,
    POSTGRESQL
}
