import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { Redis } from "ioredis"
import { redisServerInstalled, startCluster, startSentinel } from "./support/redis-topologies.js"
import { raw, startServer } from "./support/server.js"

/** Every key the program stored on one Redis node, read behind its back. */
const keysOn = (port: number) =>
  Effect.acquireUseRelease(
    Effect.sync(() => new Redis(port, "127.0.0.1")),
    (redis) => Effect.promise(() => redis.keys("plinth:*")),
    (redis) => Effect.sync(() => redis.disconnect())
  )

/** The program's cache (a project read) and its rate limiter (an /auth request) both reach the given deployment. */
const exercise = (url: string) =>
  Effect.gen(function* () {
    const ready = yield* raw(`${url}/health/ready`)
    expect(ready.status).toBe(200)
    expect(ready.json).toMatchObject({ checks: { cache: "up" } })
    const registered = yield* raw(`${url}/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "topology@example.com", password: "correct horse battery", name: "T" })
    })
    expect(registered.status).toBe(201)
    const token = (registered.json as { accessToken: string }).accessToken
    const created = yield* raw(`${url}/projects`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ name: "cached" })
    })
    expect(created.status).toBe(201)
    const read = yield* raw(`${url}/projects/${(created.json as { id: string }).id}`, {
      headers: { authorization: `Bearer ${token}` }
    })
    expect(read.status).toBe(200)
  })

describe.runIf(redisServerInstalled)("Redis Sentinel and Cluster, configured as an operator would", () => {
  it.scopedLive(
    "through Sentinel, the cache and the rate limiter live on the master it names",
    () =>
      Effect.gen(function* () {
        const { topology, masterPort } = yield* startSentinel
        const { url } = yield* startServer({ redisTopology: topology, redisUrl: Option.none() })
        yield* exercise(url)
        const keys = yield* keysOn(masterPort)
        expect(keys.some((key) => key.startsWith("plinth:rl:"))).toBe(true)
        expect(keys.some((key) => !key.startsWith("plinth:rl:"))).toBe(true)
      }),
    { timeout: 120_000 }
  )

  it.scopedLive(
    "through Cluster, the cache and the rate limiter live on the cluster's nodes",
    () =>
      Effect.gen(function* () {
        const { topology, port } = yield* startCluster
        const { url } = yield* startServer({ redisTopology: topology, redisUrl: Option.none() })
        yield* exercise(url)
        const keys = yield* keysOn(port)
        expect(keys.some((key) => key.startsWith("plinth:rl:"))).toBe(true)
        expect(keys.some((key) => !key.startsWith("plinth:rl:"))).toBe(true)
      }),
    { timeout: 120_000 }
  )
})
