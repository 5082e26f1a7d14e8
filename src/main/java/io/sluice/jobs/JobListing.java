package io.sluice.jobs;

import io.sluice.db.Database;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The read side of the jobs table for people and dashboards: filtered keyset pages, counts per state and the queue's
 * figures for health and metrics. Apart from {@link SqlJobQueue}'s worker protocol (claims, leases, fenced
 * outcomes), which never reads through it; the statements here only read and never take a lease.
 */
final class JobListing {

    private final Database db;

    JobListing(Database db) {
        this.db = db;
    }

    QueueStats stats() throws SQLException {
        return db.read(c -> {
            Map<String, QueueStats.Counts> byPipeline = new TreeMap<>();
            Long oldestDue = null;
            try (PreparedStatement ps = c.prepareStatement("SELECT pipeline, state, COUNT(*), MIN(run_at) FROM jobs "
                    + "WHERE state IN ('queued', 'running') GROUP BY pipeline, state");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String pipeline = rs.getString(1);
                    boolean queued = "queued".equals(rs.getString(2));
                    long n = rs.getLong(3);
                    QueueStats.Counts was = byPipeline.getOrDefault(pipeline, new QueueStats.Counts(0, 0));
                    byPipeline.put(pipeline, queued ? new QueueStats.Counts(was.queued() + n, was.running())
                            : new QueueStats.Counts(was.queued(), was.running() + n));
                    if (queued) {
                        long due = rs.getLong(4);
                        oldestDue = oldestDue == null ? due : Math.min(oldestDue, due);
                    }
                }
            }
            return new QueueStats(byPipeline, oldestDue == null ? null : Instant.ofEpochMilli(oldestDue));
        });
    }

    List<Job> list(JobFilter filter, String cursor, int limit) throws SQLException {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be >= 1, was " + limit);
        }
        List<Object> args = new ArrayList<>();
        String statement = listStatement(filter, cursor, args);
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement(statement)) {
                int i = bind(ps, args);
                ps.setInt(i, limit);
                return SqlJobQueue.readAll(ps);
            }
        });
    }

    /**
     * The list's statement (its arguments are added to {@code args}, the limit last and not included): visible to
     * tests, which check its query plan.
     */
    static String listStatement(JobFilter filter, String cursor, List<Object> args) {
        List<String> where = new ArrayList<>();
        conditions(filter, where, args);
        if (cursor != null) {
            where.add("id < ?");
            args.add(cursor);
        }
        // Keyset on the primary key: ids are unique and sort by creation, so equal timestamps page cleanly, and
        // the (owner|state|pipeline, id) indexes serve each filter in order without sorting.
        return "SELECT " + SqlJobQueue.COLUMNS + " FROM jobs" + whereClause(where) + " ORDER BY id DESC LIMIT ?";
    }

    Map<JobState, Long> counts(JobFilter filter) throws SQLException {
        List<String> where = new ArrayList<>();
        List<Object> args = new ArrayList<>();
        conditions(filter, where, args);
        String statement = "SELECT state, COUNT(*) FROM jobs" + whereClause(where) + " GROUP BY state";
        return db.read(c -> {
            Map<JobState, Long> counts = new EnumMap<>(JobState.class);
            for (JobState s : JobState.values()) {
                counts.put(s, 0L);
            }
            try (PreparedStatement ps = c.prepareStatement(statement)) {
                bind(ps, args);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        counts.put(JobState.fromDb(rs.getString(1)), rs.getLong(2));
                    }
                }
            }
            return counts;
        });
    }

    /** The SQL conditions of {@code filter}, in the order of their arguments. */
    private static void conditions(JobFilter filter, List<String> where, List<Object> args) {
        if (filter.owner() != null) {
            where.add("owner = ?");
            args.add(filter.owner());
        }
        if (filter.state() != null) {
            where.add("state = ?");
            args.add(filter.state().dbValue());
        }
        if (filter.pipeline() != null) {
            where.add("pipeline = ?");
            args.add(filter.pipeline());
        }
        if (filter.since() != null) {
            where.add("created_at >= ?");
            args.add(filter.since().toEpochMilli());
        }
        if (filter.until() != null) {
            where.add("created_at < ?");
            args.add(filter.until().toEpochMilli());
        }
        if (filter.query() != null) {
            // A piece of the file name, matched literally (LIKE's wildcards escaped), or exactly a job / upload id.
            String like = "%" + filter.query().toLowerCase(Locale.ROOT).replace("\\", "\\\\")
                    .replace("%", "\\%").replace("_", "\\_") + "%";
            where.add("(id = ? OR upload_id = ? OR upload_id IN (SELECT id FROM uploads "
                    + "WHERE LOWER(filename) LIKE ? ESCAPE '\\'))");
            args.add(filter.query());
            args.add(filter.query());
            args.add(like);
        }
    }

    private static String whereClause(List<String> where) {
        return where.isEmpty() ? "" : " WHERE " + String.join(" AND ", where);
    }

    private static int bind(PreparedStatement ps, List<Object> args) throws SQLException {
        int i = 1;
        for (Object a : args) {
            if (a instanceof Long l) {
                ps.setLong(i++, l);
            } else {
                ps.setString(i++, (String) a);
            }
        }
        return i;
    }
}
