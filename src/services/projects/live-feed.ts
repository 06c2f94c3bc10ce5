import { Effect } from "effect"
import { eventConsumer } from "../events/consumer.js"
import { LiveEvents } from "../events/live-events.js"

/**
 * Feeds the projects' live subscribers, and tells them when a session ends, so that a feed stops with its
 * session as any other request of it would. Every instance that runs the workers (`MODE=all`) consumes from the one
 * `live-feed` queue, so with several such instances each event reaches the subscribers of one of them.
 */
export const LiveFeedConsumer = eventConsumer({
  name: "live-feed",
  events: ["project.created", "project.updated", "project.deleted", "session.revoked"],
  handle: (event) => Effect.flatMap(LiveEvents, (live) => live.publish(event))
})
