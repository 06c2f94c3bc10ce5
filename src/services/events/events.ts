import { SqlClient } from "@effect/sql"
import { Context, DateTime, Effect, FiberRef, Layer, Option, Schema } from "effect"
import { randomBytes } from "node:crypto"
import { currentTraceparent } from "../../layers/telemetry.js"
import { DomainEvent } from "./schema.js"
import { currentOrigin } from "./origin.js"

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
   * Writes a message that is not a domain event (a plugin's own work item) to the outbox, under the same
   * rule: inside the caller's transaction, published once it commits. Returns the message id.
   */
  readonly enqueue: (routingKey: string, body: unknown) => Effect.Effect<string>
}

/** UUID v7 (RFC 9562): a 48-bit millisecond timestamp, then random bits, so ids sort by creation time. */
export const uuidV7 = (now = Date.now()) => {
  const bytes = randomBytes(16)
  bytes.writeUIntBE(now, 0, 6)
  bytes[6] = (bytes[6]! & 0x0f) | 0x70
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const hex = bytes.toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

const encodeEvent = Schema.encodeUnknown(DomainEvent)

export class Events extends Context.Tag("app/Events")<Events, EventsShape>() {
  static readonly layer = Layer.effect(
    Events,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const record = Effect.fn("Events.record")(function* (event: NewEvent) {
        const occurredAt = yield* DateTime.now
        const origin = yield* FiberRef.get(currentOrigin)
        const encoded = yield* encodeEvent({
          ...event,
          id: uuidV7(),
          occurredAt,
          version: 1,
          ...Option.match(origin, { onNone: () => ({}), onSome: (origin) => ({ origin }) })
        }).pipe(Effect.orDie)
        yield* sql`insert into outbox ${sql.insert({
          id: encoded.id,
          type: encoded._tag,
          routingKey: encoded._tag,
          payload: JSON.stringify(encoded),
          occurredAt: new Date(encoded.occurredAt),
          traceParent: Option.getOrNull(yield* currentTraceparent)
        })}`.pipe(Effect.orDie)
      })
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
      return Events.of({ record, enqueue })
    })
  )
}
