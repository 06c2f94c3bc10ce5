import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import { randomUUID } from "node:crypto"
import { Cache } from "../../src/layers/cache.js"
import { makeCacheMemory } from "../../src/layers/cache/memory.js"
import { makeCacheRedis } from "../../src/layers/cache/redis.js"
import { redisServerInstalled, startCluster, startSentinel } from "../support/redis-topologies.js"
import { serviceUrl } from "../support/services.js"

const redisUrl = serviceUrl("TEST_REDIS_URL")

const implementations: ReadonlyArray<readonly [string, Layer.Layer<Cache>]> = [
  ["memory", makeCacheMemory(1000)],
  ...(redisUrl === undefined
    ? []
    : [
        ["Redis", makeCacheRedis({ url: Redacted.make(redisUrl), keyPrefix: `plinth-test-${randomUUID()}:` })] as const
      ]),
  ...(redisServerInstalled
    ? ([
        [
          "Redis Sentinel",
          Layer.unwrapScoped(Effect.map(startSentinel, ({ topology }) => makeCacheRedis({ topology })))
        ],
        ["Redis Cluster", Layer.unwrapScoped(Effect.map(startCluster, ({ topology }) => makeCacheRedis({ topology })))]
      ] as const)
    : [])
]

describe.each(implementations)("Cache contract: %s", (_, implementation) => {
  layer(implementation, { excludeTestServices: true })((it) => {
    it.effect("returns what was set until it is deleted", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        expect(yield* cache.get("user:1")).toEqual(Option.none())
        yield* cache.set("user:1", '{"name":"Ada"}', "1 minute")
        expect(yield* cache.get("user:1")).toEqual(Option.some('{"name":"Ada"}'))
        yield* cache.delete("user:1")
        expect(yield* cache.get("user:1")).toEqual(Option.none())
      })
    )

    it.effect("reads several keys of one hash tag at once, in order, absent and expired ones as none", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        expect(yield* cache.getMany([])).toEqual([])
        yield* cache.set("{list}:a", "first", "1 minute")
        yield* cache.set("{list}:c", "third", "1 minute")
        yield* cache.set("{list}:d", "brief", "100 millis")
        yield* Effect.sleep("250 millis")
        expect(yield* cache.getMany(["{list}:c", "{list}:b", "{list}:a", "{list}:d"])).toEqual([
          Option.some("third"),
          Option.none(),
          Option.some("first"),
          Option.none()
        ])
      })
    )

    it.effect("forgets entries once their TTL passes", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        yield* cache.set("short", "lived", "100 millis")
        expect(Option.isSome(yield* cache.get("short"))).toBe(true)
        yield* Effect.sleep("250 millis")
        expect(yield* cache.get("short")).toEqual(Option.none())
      })
    )

    it.effect("deletes by prefix and leaves other keys alone", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        yield* Effect.forEach(["a", "b", "c"], (id) => cache.set(`project:7:${id}`, id, "1 minute"))
        yield* cache.set("project:70", "other", "1 minute")
        yield* cache.set("user:7", "other", "1 minute")
        yield* cache.deleteByPrefix("project:7:")
        expect(yield* cache.get("project:7:a")).toEqual(Option.none())
        expect(yield* cache.get("project:7:c")).toEqual(Option.none())
        expect(yield* cache.get("project:70")).toEqual(Option.some("other"))
        expect(yield* cache.get("user:7")).toEqual(Option.some("other"))
      })
    )

    it.effect("counts increments in a window that starts at the first one", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        const counts = yield* Effect.forEach([1, 2, 3], () => cache.increment("login:ada", "200 millis"))
        expect(counts).toEqual([1, 2, 3])
        yield* Effect.sleep("300 millis")
        expect(yield* cache.increment("login:ada", "200 millis")).toBe(1)
      })
    )

    it.effect("counts concurrent increments exactly", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        const counts = yield* Effect.all(
          Array.from({ length: 50 }, () => cache.increment("burst", "1 minute")),
          { concurrency: "unbounded" }
        )
        expect([...counts].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
      })
    )

    it.effect("answers ping while reachable", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        yield* cache.ping
      })
    )
  })
})

describe("Cache: memory bounds", () => {
  layer(makeCacheMemory(3))((it) => {
    it.effect("evicts the least recently used entry beyond its capacity", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        yield* cache.set("a", "1", "1 minute")
        yield* cache.set("b", "2", "1 minute")
        yield* cache.set("c", "3", "1 minute")
        yield* cache.get("a")
        yield* cache.set("d", "4", "1 minute")
        expect(yield* cache.get("b")).toEqual(Option.none())
        expect(yield* cache.get("a")).toEqual(Option.some("1"))
        expect(yield* cache.get("d")).toEqual(Option.some("4"))
      })
    )
  })
})

describe("Cache: Redis unreachable", () => {
  layer(makeCacheRedis({ url: Redacted.make("redis://127.0.0.1:1") }), { excludeTestServices: true })((it) => {
    it.effect("degrades to misses and no-ops instead of failing, and ping reports it", () =>
      Effect.gen(function* () {
        const cache = yield* Cache
        yield* cache.set("k", "v", "1 minute")
        expect(yield* cache.get("k")).toEqual(Option.none())
        expect(yield* cache.getMany(["k", "k2"])).toEqual([Option.none(), Option.none()])
        expect(yield* cache.increment("k2", "1 minute")).toBe(0)
        yield* cache.deleteByPrefix("k")
        const ping = yield* Effect.either(cache.ping)
        expect(ping._tag).toBe("Left")
      })
    )
  })
})
