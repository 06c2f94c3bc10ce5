import { Context, Effect, Layer, Option, PubSub, Schema, type Scope, Stream } from "effect"
import { DomainEvent } from "./schema.js"

/** How many events a subscriber may fall behind by before it loses the oldest; publishing never waits for it. */
const SUBSCRIBER_BACKLOG = 1024

const decodeEvent = Schema.decodeUnknownOption(Schema.parseJson(DomainEvent))

export interface LiveEventsShape {
  /**
   * Hands a committed event, as its JSON text, to every current subscriber of this process. The text is read only
   * while somebody subscribes: every event of the process passes here, and most processes have no live feed open.
   */
  readonly publish: (body: string) => Effect.Effect<void>
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
      let subscribers = 0
      // Counted before the hub subscription is taken, so no event published after `subscribe` returns is skipped.
      const counted = Effect.acquireRelease(
        Effect.sync(() => subscribers++),
        () => Effect.sync(() => subscribers--)
      )
      return LiveEvents.of({
        publish: (body) =>
          subscribers === 0
            ? Effect.void
            : Option.match(decodeEvent(body), {
                onNone: () => Effect.void,
                onSome: (event) => Effect.asVoid(PubSub.publish(hub, event))
              }),
        subscribe: Effect.zipRight(
          counted,
          Effect.map(PubSub.subscribe(hub), (subscription) => Stream.fromQueue(subscription))
        )
      })
    })
  )
}
