import { Layer } from "effect"
import { RateLimiterMemory } from "rate-limiter-flexible"
import { RateLimiter } from "../rate-limiter.js"
import { makeFlexibleRateLimiter } from "./flexible.js"

/** Counters in this process's memory: correct for a single instance, per instance otherwise. */
export const RateLimiterMemoryLive: Layer.Layer<RateLimiter> = Layer.sync(RateLimiter, () =>
  RateLimiter.of(
    makeFlexibleRateLimiter((limits) => {
      const limiter = new RateLimiterMemory(limits)
      return { limiter, forget: (key) => limiter.delete(key) }
    })
  )
)
