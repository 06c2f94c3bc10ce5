import { Layer } from "effect"
import { Events } from "./events/events.js"
import { Draining } from "./operations/draining.js"

/** Domain services every module may use; each module brings its own on top. */
export const ServicesLive = Layer.merge(Events.layer, Draining.layer)
