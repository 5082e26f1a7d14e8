package io.sluice.notify;

/**
 * One recorded event.
 *
 * @param id       grows with every event, across restarts: the SSE id clients resume from
 * @param envelope the JSON text sent to webhooks and SSE clients: {@code {"id","type","createdAt","data"}}
 * @param owner    the API key of the job it is about (null in open mode): who may see it on a stream
 */
public record Event(long id, String type, String jobId, String envelope, String owner) {
}
