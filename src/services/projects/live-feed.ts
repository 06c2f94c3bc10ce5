import { Effect, Layer, Stream } from "effect"
import { Queue } from "../../layers/queue.js"
import { LiveEvents } from "../events/live-events.js"
import type { EventType } from "../events/schema.js"

const feedEvents: ReadonlyArray<EventType> = [
  "project.created",
  "project.updated",
  "project.deleted",
  "session.revoked"
]

/** How far this process's subscription may lag behind the broker before it loses the oldest events. */
const BACKLOG = 4096

/**
 * Feeds the projects' live subscribers from a subscription of this process to the queue, so every instance that
 * serves RPC sees every committed event, whichever instance relayed it, on the in-process queue and on RabbitMQ.
 * Revoked sessions come too, so that a feed stops with its session as any other request of it would.
 */
export const LiveFeedLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const queue = yield* Queue
    const live = yield* LiveEvents
    const messages = yield* queue.subscribe(feedEvents, BACKLOG)
    yield* messages.pipe(
      Stream.runForEach((message) => live.publish(message.body)),
      Effect.forkScoped
    )
  })
).pipe(Layer.provideMerge(LiveEvents.layer))
