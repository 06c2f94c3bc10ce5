import { Layer } from "effect"
import { Events } from "./events/events.js"
import { LiveEvents } from "./events/live-events.js"

/** Domain services every module may use; each module brings its own on top. */
export const ServicesLive = Layer.merge(Events.layer, LiveEvents.layer)
