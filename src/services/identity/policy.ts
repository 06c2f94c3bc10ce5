import { Duration, Effect } from "effect"
import type { RateLimited, RateLimitRule } from "../../layers/rate-limiter.js"
import { Forbidden, TooManyRequests } from "../errors.js"
import type { Actor } from "./current-user.js"
import type { Role } from "./schema.js"

/** The permission table of API.md, enforced here so every transport gets the same answers. */
export const requireRole = (actor: Actor, allowed: ReadonlyArray<Role>, action: string) =>
  allowed.includes(actor.role)
    ? Effect.void
    : Effect.fail(new Forbidden({ detail: `Your role (${actor.role}) may not ${action}` }))

export const canListUsers: ReadonlyArray<Role> = ["admin", "moderator"]
export const canAdministerUsers: ReadonlyArray<Role> = ["admin"]

/**
 * Failed logins and wrong current passwords share one counter per account (keyed by email), so neither
 * endpoint can be used to guess a password past LOGIN_FAILURE_LIMIT.
 */
export const loginFailureRule = (limit: number): RateLimitRule => ({
  name: "login-failures",
  points: limit,
  window: Duration.minutes(15)
})

/** Every request to `/auth/*` from one client address, counted before its body is even read. */
export const authClientRule = (limit: number): RateLimitRule => ({
  name: "auth-ip",
  points: limit,
  window: Duration.minutes(1)
})

/**
 * Registrations and logins per email, and refreshes per account: a spread of addresses cannot hammer one
 * account past this.
 */
export const authAccountRule = (limit: number): RateLimitRule => ({
  name: "auth-account",
  points: limit,
  window: Duration.minutes(1)
})

export const tooManyRequests = (error: RateLimited) =>
  new TooManyRequests({ detail: "Too many requests; retry later", retryAfter: error.retryAfterSeconds })
