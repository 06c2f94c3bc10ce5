import { SqlClient, type Statement } from "@effect/sql"
import { type Array as Arr, Context, DateTime, Effect, FiberRef, Layer, Option, Schema } from "effect"
import { randomUUID } from "node:crypto"
import { currentTraceparent } from "../../layers/telemetry.js"
import { DomainEvent } from "./schema.js"
import { currentOrigin } from "./origin.js"

/**
 * An event's outbox row, as `Events.prepare` makes it. A type rather than an interface: only a type is a record,
 * which `sql.insert` takes as it is.
 */
export type PreparedEvent = {
  readonly id: string
  readonly type: string
  readonly routingKey: string
  readonly payload: string
  readonly occurredAt: Date
  readonly traceParent: string | null
}

/** The fields every event gets from `Events.record`: id, time and version. */
export type NewEvent = DomainEvent extends infer E
  ? E extends DomainEvent
    ? Omit<E, "id" | "occurredAt" | "version" | "origin">
    : never
  : never

export interface EventsShape {
  /**
   * Writes the event to the outbox. Call it inside the transaction that makes the change, so the change
   * and its event commit together or not at all; nothing is published from inside a transaction.
   */
  readonly record: (event: NewEvent) => Effect.Effect<void>
  /**
   * The event as its outbox row, made in the fiber of the change it reports (its origin and trace come from
   * there), for a statement that another fiber runs later with `recordAllWith`.
   */
  readonly prepare: (event: NewEvent) => Effect.Effect<PreparedEvent>
  /**
   * Runs `change`, one data-changing statement, and writes the events to the outbox in that same statement, so
   * they all commit together with no transaction around them: one round trip where `record` in a transaction
   * takes four. Answers the rows `change` returns.
   */
  readonly recordAllWith: <A extends object>(
    change: Statement.Statement<A>,
    events: Arr.NonEmptyReadonlyArray<PreparedEvent>
  ) => Effect.Effect<ReadonlyArray<A>>
  /**
   * Writes a message that is not a domain event (a plugin's own work item) to the outbox, under the same
   * rule: inside the caller's transaction, published once it commits. Returns the message id.
   */
  readonly enqueue: (routingKey: string, body: unknown) => Effect.Effect<string>
}

/**
 * UUID v7 (RFC 9562): a 48-bit millisecond timestamp, then random bits, so ids sort by creation time. The random
 * bits and the variant come from `randomUUID`, which draws from a pooled source: fresh random bytes per id cost
 * a system call each, on every write path.
 */
export const uuidV7 = (now = Date.now()) => {
  const time = now.toString(16).padStart(12, "0")
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${randomUUID().slice(15)}`
}

const encodeEvent = Schema.encodeUnknown(DomainEvent)

export class Events extends Context.Tag("app/Events")<Events, EventsShape>() {
  static readonly layer = Layer.effect(
    Events,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const prepare = (event: NewEvent) =>
        Effect.gen(function* () {
          const occurredAt = yield* DateTime.now
          const origin = yield* FiberRef.get(currentOrigin)
          const encoded = yield* encodeEvent({
            ...event,
            id: uuidV7(),
            occurredAt,
            version: 1,
            ...Option.match(origin, { onNone: () => ({}), onSome: (origin) => ({ origin }) })
          }).pipe(Effect.orDie)
          return {
            id: encoded.id,
            type: encoded._tag,
            routingKey: encoded._tag,
            payload: JSON.stringify(encoded),
            occurredAt: new Date(encoded.occurredAt),
            traceParent: Option.getOrNull(yield* currentTraceparent)
          } satisfies PreparedEvent
        })
      const record = Effect.fn("Events.record")(function* (event: NewEvent) {
        yield* sql`insert into outbox ${sql.insert(yield* prepare(event))}`.pipe(Effect.orDie)
      })
      const recordAllWith = <A extends object>(
        change: Statement.Statement<A>,
        events: Arr.NonEmptyReadonlyArray<PreparedEvent>
      ) =>
        sql<A>`with change as (${change}), recorded as (insert into outbox ${sql.insert(events)})
          select * from change`.pipe(Effect.orDie, Effect.withSpan("Events.record"))
      const enqueue = Effect.fn("Events.enqueue")(function* (routingKey: string, body: unknown) {
        const id = uuidV7()
        yield* sql`insert into outbox ${sql.insert({
          id,
          type: routingKey,
          routingKey,
          payload: JSON.stringify(body),
          traceParent: Option.getOrNull(yield* currentTraceparent)
        })}`.pipe(Effect.orDie)
        return id
      })
      return Events.of({ record, prepare, recordAllWith, enqueue })
    })
  )
}
