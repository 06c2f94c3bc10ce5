import { Cause, Data, type Duration, Effect, Either, Metric, ParseResult, Schema } from "effect"
import { SqlClient } from "../../layers/database.js"
import type { ConsumerSpec, DeliveredMessage } from "../../layers/queue.js"
import { DomainEvent, type EventType } from "./schema.js"
import { eventsConsumed, eventsDeadLettered, eventsRetried } from "./metrics.js"

/** A delivery the consumer will not handle as it is: it does not decode, or its type or version is unknown here. */
export class EventRefused extends Data.TaggedError("EventRefused")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

export interface EventConsumer<Tag extends EventType, E, R> {
  /** Names the durable queue and the idempotency records; unique across the deployment, never renamed. */
  readonly name: string
  /** The event types delivered to it; they are its routing keys. */
  readonly events: ReadonlyArray<Tag>
  /** Deliveries before the event is dead-lettered (default 5). */
  readonly maxAttempts?: number
  /** Delay before the first retry; doubles with each further attempt (default 1 second). */
  readonly retryBaseDelay?: Duration.DurationInput
  /**
   * Runs inside the transaction that records the event as processed by this consumer, so its database
   * writes happen once per event however often it is delivered. Work outside the database must be
   * idempotent: a failed commit retries it.
   */
  readonly handle: (event: Extract<DomainEvent, { readonly _tag: Tag }>) => Effect.Effect<void, E, R>
}

const Envelope = Schema.parseJson(Schema.Struct({ _tag: Schema.String, version: Schema.Unknown }))
const decodeEnvelope = Schema.decodeUnknownEither(Envelope)
const decodeEvent = Schema.decodeUnknownEither(Schema.parseJson(DomainEvent))

const knownVersions: ReadonlyMap<string, ReadonlyArray<unknown>> = new Map(
  DomainEvent.members.map((member) => [member._tag, member.fields.version.literals])
)

/**
 * A queue consumer of domain events: it acknowledges only after its transaction commits, skips events it
 * already processed, and refuses what it cannot read. Refusals fail the delivery like any other failure,
 * so they reach the dead-letter queue after `maxAttempts`; meanwhile a worker that knows a newer version,
 * during a rolling deploy, may take the retry.
 */
export const eventConsumer = <const Tag extends EventType, E, R>(
  consumer: EventConsumer<Tag, E, R>
): ConsumerSpec<R | SqlClient.SqlClient> => {
  const maxAttempts = Math.max(1, consumer.maxAttempts ?? 5)
  const accepted: ReadonlyArray<string> = consumer.events
  const isHandled = (event: DomainEvent): event is Extract<DomainEvent, { readonly _tag: Tag }> =>
    accepted.includes(event._tag)

  const read = (
    message: DeliveredMessage
  ): Either.Either<Extract<DomainEvent, { readonly _tag: Tag }>, EventRefused> => {
    const refuse = (reason: string) =>
      Either.left(new EventRefused({ reason: `${consumer.name} refuses ${message.id}: ${reason}` }))
    const envelope = decodeEnvelope(message.body)
    if (Either.isLeft(envelope)) return refuse("the body is not an event")
    const { _tag: type, version } = envelope.right
    if (!accepted.includes(type)) return refuse(`it does not handle ${type}`)
    if (!(knownVersions.get(type) ?? []).includes(version)) {
      return refuse(`version ${String(version)} of ${type} is unknown`)
    }
    const event = decodeEvent(message.body)
    if (Either.isLeft(event)) return refuse(ParseResult.TreeFormatter.formatErrorSync(event.left))
    return isHandled(event.right) ? Either.right(event.right) : refuse(`it does not handle ${type}`)
  }

  const tags = (metric: typeof eventsConsumed) => Metric.tagged(metric, "consumer", consumer.name)
  const consumed = tags(eventsConsumed)
  const retried = tags(eventsRetried)
  const deadLettered = tags(eventsDeadLettered)

  const handle = (message: DeliveredMessage) =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const event = yield* read(message)
      const first = yield* sql.withTransaction(
        Effect.gen(function* () {
          const recorded = yield* sql`
            insert into processed_events (consumer, event_id) values (${consumer.name}, ${event.id})
            on conflict do nothing returning event_id`
          if (recorded.length === 0) return false
          yield* consumer.handle(event)
          return true
        })
      )
      if (first) yield* Metric.increment(consumed)
      else yield* Effect.logDebug("Event already processed; skipped").pipe(Effect.annotateLogs("eventId", event.id))
    }).pipe(
      Effect.tapErrorCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.void
          : Metric.increment(message.attempt < maxAttempts ? retried : deadLettered)
      ),
      Effect.withSpan("EventConsumer.handle", {
        attributes: { consumer: consumer.name, messageId: message.id, attempt: message.attempt }
      })
    )

  return {
    name: consumer.name,
    routingKeys: consumer.events,
    maxAttempts,
    ...(consumer.retryBaseDelay === undefined ? {} : { retryBaseDelay: consumer.retryBaseDelay }),
    handle
  }
}
