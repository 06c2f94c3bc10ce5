import { Context, Data, type Duration, type Effect } from "effect"

export class RateLimited extends Data.TaggedError("RateLimited")<{ readonly retryAfterSeconds: number }> {}

export interface RateLimitRule {
  /** Namespaces the counters of this rule. */
  readonly name: string
  /** Hits allowed per window. */
  readonly points: number
  readonly window: Duration.DurationInput
}

/**
 * Fixed-window counters shared by every instance when Redis is configured. While Redis is down the
 * counters fall back to this process's memory, so limits keep holding (per instance) instead of failing open.
 */
export interface RateLimiterShape {
  /** Counts a hit; fails with RateLimited once the rule's points for `key` are used up in this window. */
  readonly consume: (rule: RateLimitRule, key: string) => Effect.Effect<void, RateLimited>
  /** Fails with RateLimited if `key` has already used up its points, without counting a hit. */
  readonly check: (rule: RateLimitRule, key: string) => Effect.Effect<void, RateLimited>
  /** Forgets the hits of `key`, e.g. failed logins after a successful one. */
  readonly reset: (rule: RateLimitRule, key: string) => Effect.Effect<void>
}

export class RateLimiter extends Context.Tag("app/RateLimiter")<RateLimiter, RateLimiterShape>() {}
