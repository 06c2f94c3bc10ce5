import { Effect, Redacted } from "effect"
import { Redis } from "ioredis"

/**
 * A Redis connection for the cache and the rate limiter, closed with the scope. Commands are not queued
 * while disconnected (a cache miss or an in-memory limit beats a stalled request), so the first connection
 * gets a few seconds before serving; `connected` says whether it made it.
 */
export const openRedis = (url: Redacted.Redacted, keyPrefix?: string) =>
  Effect.gen(function* () {
    const redis = yield* Effect.acquireRelease(
      Effect.sync(
        () =>
          new Redis(Redacted.value(url), {
            ...(keyPrefix === undefined ? {} : { keyPrefix }),
            enableOfflineQueue: false,
            maxRetriesPerRequest: 0,
            commandTimeout: 500,
            connectTimeout: 2000,
            lazyConnect: false,
            retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
            // Commands issued in the same tick (concurrent requests' session and profile reads) leave in one write.
            enableAutoPipelining: true
          })
      ),
      (redis) => Effect.sync(() => redis.disconnect())
    )
    redis.on("error", () => undefined)
    const connected = yield* Effect.async<boolean>((resume) => {
      if (redis.status === "ready") return resume(Effect.succeed(true))
      const onReady = () => resume(Effect.succeed(true))
      const onError = () => resume(Effect.succeed(false))
      redis.once("ready", onReady)
      redis.once("error", onError)
      return Effect.sync(() => {
        redis.off("ready", onReady)
        redis.off("error", onError)
      })
    }).pipe(Effect.timeoutTo({ duration: "3 seconds", onTimeout: () => false, onSuccess: (ready) => ready }))
    return { redis, connected }
  })
