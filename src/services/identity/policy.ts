import { Effect } from "effect"
import { Forbidden } from "../errors.js"
import type { Actor } from "./current-user.js"
import type { Role } from "./schema.js"

/** The permission table of API.md, enforced here so every transport gets the same answers. */
export const requireRole = (actor: Actor, allowed: ReadonlyArray<Role>, action: string) =>
  allowed.includes(actor.role)
    ? Effect.void
    : Effect.fail(new Forbidden({ detail: `Your role (${actor.role}) may not ${action}` }))

export const canListUsers: ReadonlyArray<Role> = ["admin", "moderator"]
export const canAdministerUsers: ReadonlyArray<Role> = ["admin"]
