import { Context } from "effect"
import type { Role } from "./schema.js"

/** Who is making the request: provided by the transports' authentication, read by the services. */
export interface Actor {
  readonly userId: string
  readonly role: Role
  readonly sessionId: string
}

export class CurrentUser extends Context.Tag("app/CurrentUser")<CurrentUser, Actor>() {}
