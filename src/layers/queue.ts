import { Context, Data, type Duration, type Effect, type Scope, type Stream } from "effect"

/** A message as it travels: the body is the JSON text of one event, `id` makes consumers idempotent. */
export interface OutgoingMessage {
  readonly id: string
  readonly routingKey: string
  readonly body: string
  readonly headers?: Readonly<Record<string, string>>
}

export interface DeliveredMessage extends OutgoingMessage {
  readonly headers: Readonly<Record<string, string>>
  /** 1 on first delivery, incremented by every retry. */
  readonly attempt: number
}

export interface DeadLetter extends OutgoingMessage {
  readonly headers: Readonly<Record<string, string>>
  readonly consumer: string
  readonly attempts: number
  readonly lastError: string
  readonly deadAt: Date
}

export interface ConsumerSpec<R = never> {
  /** Names the durable queue; unique per consumer across the deployment. */
  readonly name: string
  /** Topic patterns (`project.*`, `user.deleted`, `#`). */
  readonly routingKeys: ReadonlyArray<string>
  /** Deliveries before a message is dead-lettered (default 5). */
  readonly maxAttempts?: number
  /** Delay before the first retry; doubles with each further attempt (default 1 second). */
  readonly retryBaseDelay?: Duration.DurationInput
  /** Settles the message: success acknowledges, failure schedules a retry or dead-letters. */
  readonly handle: (message: DeliveredMessage) => Effect.Effect<void, unknown, R>
}

export class QueueUnavailable extends Data.TaggedError("QueueUnavailable")<{
  readonly reason: string
  readonly cause?: unknown
}> {}

export interface QueueShape {
  /** Resolves only once the broker has confirmed the message as durably stored. */
  readonly publish: (message: OutgoingMessage) => Effect.Effect<void, QueueUnavailable>
  /** Declares the consumer's queue and bindings and delivers to it until the scope closes, surviving reconnects. */
  readonly consume: <R>(spec: ConsumerSpec<R>) => Effect.Effect<void, QueueUnavailable, R | Scope.Scope>
  /**
   * Every message published from now on whose routing key matches, until the scope closes: a subscription of this
   * process alone (each instance gets every message), with no acknowledgements, retries or dead letters. For live
   * notifications; what is published while the broker is unreachable, or while the reader lags more than
   * `backlog` messages behind, is missed.
   */
  readonly subscribe: (
    routingKeys: ReadonlyArray<string>,
    backlog: number
  ) => Effect.Effect<Stream.Stream<DeliveredMessage>, never, Scope.Scope>
  readonly deadLetters: (consumer: string) => Effect.Effect<ReadonlyArray<DeadLetter>, QueueUnavailable>
  /** Moves one dead letter back to its consumer with a fresh attempt count; false when no such message. */
  readonly replay: (consumer: string, messageId: string) => Effect.Effect<boolean, QueueUnavailable>
  /** Messages waiting in the consumer's queue (not counting retries in their delay or dead letters). */
  readonly depth: (consumer: string) => Effect.Effect<number, QueueUnavailable>
  readonly ping: Effect.Effect<void, QueueUnavailable>
}

export class Queue extends Context.Tag("app/Queue")<Queue, QueueShape>() {}
