import { Duration, Effect, Layer, Metric, Option, Ref, Runtime } from "effect"
import { Cluster } from "ioredis"
import { Cache, CacheUnavailable, instrumentCache } from "../cache.js"
import { openRedis, type RedisConnection } from "../redis/client.js"
import { cacheErrors } from "../telemetry.js"

export type RedisCacheOptions = RedisConnection & {
  /** Namespaces every key, so several deployments can share one Redis. */
  readonly keyPrefix?: string
}

const INCREMENT_WITH_EXPIRY = `
local count = redis.call("INCR", KEYS[1])
if count == 1 then redis.call("PEXPIRE", KEYS[1], ARGV[1]) end
return count`

export const makeCacheRedis = (options: RedisCacheOptions) =>
  Layer.scoped(
    Cache,
    Effect.gen(function* () {
      const prefix = options.keyPrefix ?? "plinth:"
      const { redis, connected } = yield* openRedis(options, prefix)
      const down = yield* Ref.make(!connected)
      if (!connected) yield* Effect.logWarning("Cache unreachable at start-up: serving without it until it answers")
      const runtime = yield* Effect.runtime<never>()
      redis.on("ready", () => {
        Runtime.runFork(runtime)(
          Effect.flatMap(Ref.getAndSet(down, false), (wasDown) =>
            wasDown ? Effect.logInfo("Cache reachable again") : Effect.void
          )
        )
      })

      const attempt = <A>(command: () => Promise<A>) =>
        Effect.tryPromise({ try: command, catch: (cause) => new CacheUnavailable({ cause }) })

      const degrade =
        <A>(fallback: A) =>
        (effect: Effect.Effect<A, CacheUnavailable>) =>
          Effect.catchAll(effect, (error) =>
            Effect.flatMap(Effect.zipRight(Metric.increment(cacheErrors), Ref.getAndSet(down, true)), (wasDown) =>
              wasDown
                ? Effect.succeed(fallback)
                : Effect.as(
                    Effect.logWarning("Cache unreachable: serving without it until it returns", String(error.cause)),
                    fallback
                  )
            )
          )

      // A cluster scans each master on its own, and deletes key by key: one command may not span hash slots.
      const scanDelete = (pattern: string) =>
        attempt(async () => {
          const scanned = redis instanceof Cluster ? redis.nodes("master") : [redis]
          for (const node of scanned) {
            let cursor = "0"
            do {
              const [next, found] = await node.scan(cursor, "MATCH", pattern, "COUNT", 500)
              cursor = next
              // Keys from SCAN carry the prefix that ioredis would add again.
              const keys = found.map((key) => key.slice(prefix.length))
              if (keys.length === 0) continue
              if (redis instanceof Cluster) await Promise.all(keys.map((key) => redis.unlink(key)))
              else await redis.unlink(...keys)
            } while (cursor !== "0")
          }
        })

      return Cache.of(
        instrumentCache({
          get: (key) => attempt(() => redis.get(key)).pipe(Effect.map(Option.fromNullable), degrade(Option.none())),
          getMany: (keys) =>
            keys.length === 0
              ? Effect.succeed([])
              : attempt(() => redis.mget(...keys)).pipe(
                  Effect.map((values) => values.map(Option.fromNullable)),
                  degrade(keys.map(() => Option.none<string>()))
                ),
          set: (key, value, ttl) =>
            attempt(() => redis.set(key, value, "PX", Math.max(1, Duration.toMillis(ttl)))).pipe(
              Effect.asVoid,
              degrade<void>(undefined)
            ),
          delete: (key) => attempt(() => redis.del(key)).pipe(Effect.asVoid, degrade<void>(undefined)),
          deleteByPrefix: (keyPrefix) =>
            scanDelete(`${prefix}${keyPrefix.replace(/[*?[\]\\]/g, "\\$&")}*`).pipe(degrade<void>(undefined)),
          increment: (key, window) =>
            attempt(() => redis.eval(INCREMENT_WITH_EXPIRY, 1, key, Duration.toMillis(window))).pipe(
              Effect.map(Number),
              degrade(0)
            ),
          ping: attempt(() => redis.ping()).pipe(Effect.asVoid)
        })
      )
    })
  )
