import { Context, Effect, Layer, PubSub, type Scope, Stream } from "effect"
import type { DomainEvent } from "./schema.js"

/** How many events a subscriber may fall behind by before it loses the oldest; publishing never waits for it. */
const SUBSCRIBER_BACKLOG = 1024

export interface LiveEventsShape {
  /** Hands a committed event to every current subscriber of this process. */
  readonly publish: (event: DomainEvent) => Effect.Effect<void>
  /** Every event published after this returns, until the scope closes. */
  readonly subscribe: Effect.Effect<Stream.Stream<DomainEvent>, never, Scope.Scope>
}

/**
 * In-process fan-out of events to live subscribers (the RPC feed). Events reach it from the process's own
 * subscription to the queue, so only committed events are published, from the in-process or the AMQP queue alike.
 */
export class LiveEvents extends Context.Tag("app/LiveEvents")<LiveEvents, LiveEventsShape>() {
  static readonly layer = Layer.scoped(
    LiveEvents,
    Effect.gen(function* () {
      const hub = yield* Effect.acquireRelease(PubSub.sliding<DomainEvent>(SUBSCRIBER_BACKLOG), PubSub.shutdown)
      return LiveEvents.of({
        publish: (event) => Effect.asVoid(PubSub.publish(hub, event)),
        subscribe: Effect.map(PubSub.subscribe(hub), (subscription) => Stream.fromQueue(subscription))
      })
    })
  )
}
