import { Metric } from "effect"

/** Events the relay handed to the queue and the broker confirmed, tagged by `type`. */
export const eventsPublished = Metric.counter("plinth_events_published", {
  description: "Outbox events published to the queue and confirmed by the broker",
  incremental: true
})

/** Events a consumer handled and committed, tagged by `consumer`; redeliveries it skipped are not counted. */
export const eventsConsumed = Metric.counter("plinth_events_consumed", {
  description: "Events handled and committed by a consumer",
  incremental: true
})

/** Failed deliveries that the queue schedules again, tagged by `consumer`. */
export const eventsRetried = Metric.counter("plinth_events_retried", {
  description: "Failed deliveries scheduled for another attempt",
  incremental: true
})

/** Deliveries that failed their last attempt and went to the consumer's dead-letter queue, tagged by `consumer`. */
export const eventsDeadLettered = Metric.counter("plinth_events_dead_lettered", {
  description: "Events moved to a dead-letter queue after their last attempt",
  incremental: true
})

/** Outbox rows not yet published: the backlog that waits for the relay or the broker. */
export const outboxPending = Metric.gauge("plinth_outbox_pending", {
  description: "Outbox rows not yet published"
})

/** Age of the oldest unpublished outbox row, 0 when the outbox is drained: how far the relay lags behind. */
export const outboxLagSeconds = Metric.gauge("plinth_outbox_lag_seconds", {
  description: "Age in seconds of the oldest unpublished outbox row"
})

/** Messages waiting in each consumer's queue, tagged by `consumer`: work the workers have not reached yet. */
export const queueDepth = Metric.gauge("plinth_queue_depth", {
  description: "Messages waiting in a consumer's queue"
})
