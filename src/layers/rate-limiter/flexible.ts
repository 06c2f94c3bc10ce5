import { Duration, Effect, identity } from "effect"
import { RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible"
import { RateLimited, type RateLimiterShape, type RateLimitRule } from "../rate-limiter.js"

/** The options every rate-limiter-flexible limiter of a rule is built with. */
export interface FlexibleOptions {
  readonly keyPrefix: string
  readonly points: number
  /** Seconds. */
  readonly duration: number
}

/** A rule's limiter and how to forget a key in every store it counts in. */
export interface FlexibleLimiter {
  readonly limiter: RateLimiterAbstract
  readonly forget: (key: string) => Promise<unknown>
}

// rate-limiter-flexible counts windows in whole seconds (Redis EX), so a shorter window rounds up to one.
const windowSeconds = (window: Duration.DurationInput) => Math.max(1, Math.ceil(Duration.toSeconds(window)))

const limited = (msBeforeNext: number) =>
  new RateLimited({ retryAfterSeconds: Math.max(1, Math.ceil(msBeforeNext / 1000)) })

const attempt = <A>(run: () => Promise<A>) => Effect.tryPromise({ try: run, catch: identity })

/**
 * Adapts rate-limiter-flexible to RateLimiterShape with one limiter per rule name, built on first use.
 * A rule's name stands for its points and window: reusing a name with other limits is a defect.
 */
export const makeFlexibleRateLimiter = (make: (options: FlexibleOptions) => FlexibleLimiter): RateLimiterShape => {
  const limiters = new Map<string, FlexibleLimiter>()
  const limiterFor = (rule: RateLimitRule): FlexibleLimiter => {
    const duration = windowSeconds(rule.window)
    const existing = limiters.get(rule.name)
    if (existing === undefined) {
      const created = make({ keyPrefix: rule.name, points: rule.points, duration })
      limiters.set(rule.name, created)
      return created
    }
    if (existing.limiter.points !== rule.points || existing.limiter.duration !== duration) {
      throw new Error(`Rate limit rule "${rule.name}" is used with different points or windows`)
    }
    return existing
  }

  const consume = Effect.fn("RateLimiter.consume")(function* (rule: RateLimitRule, key: string) {
    yield* Effect.annotateCurrentSpan("rule", rule.name)
    yield* attempt(() => limiterFor(rule).limiter.consume(key)).pipe(
      // A rejection is either the verdict (a RateLimiterRes) or a store error the insurance could not absorb.
      Effect.catchAll((rejection) =>
        rejection instanceof RateLimiterRes ? limited(rejection.msBeforeNext) : Effect.die(rejection)
      )
    )
  })

  const check = Effect.fn("RateLimiter.check")(function* (rule: RateLimitRule, key: string) {
    yield* Effect.annotateCurrentSpan("rule", rule.name)
    const current = yield* attempt(() => limiterFor(rule).limiter.get(key)).pipe(Effect.orDie)
    if (current !== null && current.consumedPoints >= rule.points) return yield* limited(current.msBeforeNext)
  })

  const reset = Effect.fn("RateLimiter.reset")(function* (rule: RateLimitRule, key: string) {
    yield* Effect.annotateCurrentSpan("rule", rule.name)
    yield* attempt(() => limiterFor(rule).forget(key)).pipe(Effect.orDie)
  })

  return { consume, check, reset }
}
