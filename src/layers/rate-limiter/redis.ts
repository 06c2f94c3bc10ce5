import { Effect, Layer, Ref, Runtime } from "effect"
import { RateLimiterMemory, RateLimiterRedis } from "rate-limiter-flexible"
import { RateLimiter } from "../rate-limiter.js"
import { openRedis, type RedisConnection } from "../redis/client.js"
import { makeFlexibleRateLimiter } from "./flexible.js"

export type RedisRateLimiterOptions = RedisConnection & {
  /** Namespaces every key, so several deployments can share one Redis. */
  readonly keyPrefix?: string
}

/**
 * Counters in Redis, shared by every instance. While Redis is unreachable each rule falls back to an
 * in-memory limiter of the same rule (rate-limiter-flexible's insurance), so limits hold per instance.
 */
export const makeRateLimiterRedis = (options: RedisRateLimiterOptions): Layer.Layer<RateLimiter> =>
  Layer.scoped(
    RateLimiter,
    Effect.gen(function* () {
      const prefix = options.keyPrefix ?? "plinth:rl:"
      const { redis, connected } = yield* openRedis(options)
      const down = yield* Ref.make(!connected)
      if (!connected) {
        yield* Effect.logWarning(
          "Rate limiter store unreachable at start-up: limits hold per instance until it answers"
        )
      }
      // rate-limiter-flexible swallows the errors its insurance absorbs, so the connection is what reports outages.
      const runtime = yield* Effect.runtime<never>()
      const markDown = () =>
        Runtime.runFork(runtime)(
          Effect.flatMap(Ref.getAndSet(down, true), (wasDown) =>
            wasDown
              ? Effect.void
              : Effect.logWarning("Rate limiter store unreachable: limits hold per instance until it returns")
          )
        )
      redis.on("error", markDown)
      redis.on("ready", () => {
        Runtime.runFork(runtime)(
          Effect.flatMap(Ref.getAndSet(down, false), (wasDown) =>
            wasDown ? Effect.logInfo("Rate limiter store reachable again") : Effect.void
          )
        )
      })

      return RateLimiter.of(
        makeFlexibleRateLimiter((limits) => {
          const insurance = new RateLimiterMemory(limits)
          const limiter = new RateLimiterRedis({
            ...limits,
            keyPrefix: `${prefix}${limits.keyPrefix}`,
            storeClient: redis,
            insuranceLimiter: insurance,
            // Go straight to the insurance while reconnecting instead of waiting for a command to fail.
            rejectIfRedisNotReady: true
          })
          // Also forget the insurance's count, so a later outage does not revive hits that were reset.
          return { limiter, forget: (key) => Promise.all([limiter.delete(key), insurance.delete(key)]) }
        })
      )
    })
  )
