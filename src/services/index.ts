import { Events } from "./events/events.js"

/** Domain services every module may use; each module brings its own on top. */
export const ServicesLive = Events.layer
