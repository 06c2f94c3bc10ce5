import { Effect, Option, Redacted } from "effect"
import { Cluster, Redis, type RedisOptions } from "ioredis"
import type { AppSettings, RedisTopology } from "../config.js"

/**
 * Where Redis is: a standalone server by URL, or the nodes of a Sentinel or Cluster deployment, for which the
 * URL (optional) gives only the credentials, the database and, with `rediss:`, TLS.
 */
export type RedisConnection =
  | { readonly url: Redacted.Redacted; readonly topology?: Extract<RedisTopology, { _tag: "Standalone" }> }
  | { readonly url?: Redacted.Redacted; readonly topology: Exclude<RedisTopology, { _tag: "Standalone" }> }

/** Redis is used when REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES is set; config refuses other mixes. */
export const redisConnectionOf = (settings: AppSettings): Option.Option<RedisConnection> => {
  const topology = settings.redisTopology
  if (topology._tag !== "Standalone") {
    return Option.some({
      topology,
      ...Option.match(settings.redisUrl, { onNone: () => ({}), onSome: (url) => ({ url }) })
    })
  }
  return Option.map(settings.redisUrl, (url) => ({ url }))
}

/** Commands are not queued while disconnected: a cache miss or an in-memory limit beats a stalled request. */
const commandOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  commandTimeout: 500,
  connectTimeout: 2000,
  lazyConnect: false,
  retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
  // Commands issued in the same tick (concurrent requests' session and profile reads) leave in one write.
  enableAutoPipelining: true
} satisfies RedisOptions

/** The credentials, database and TLS that a Sentinel or Cluster deployment takes from REDIS_URL. */
const accessOf = (url: Redacted.Redacted | undefined): RedisOptions => {
  if (url === undefined) return {}
  const parsed = new URL(Redacted.value(url))
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : undefined
  return {
    ...(parsed.username === "" ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password === "" ? {} : { password: decodeURIComponent(parsed.password) }),
    ...(db === undefined || !Number.isInteger(db) ? {} : { db }),
    ...(parsed.protocol === "rediss:" ? { tls: {} } : {})
  }
}

const isStandalone = (connection: RedisConnection): connection is Extract<RedisConnection, { url: unknown }> =>
  connection.topology === undefined || connection.topology._tag === "Standalone"

const connect = (connection: RedisConnection, keyPrefix: string | undefined): Redis | Cluster => {
  const prefix = keyPrefix === undefined ? {} : { keyPrefix }
  if (isStandalone(connection)) return new Redis(Redacted.value(connection.url), { ...prefix, ...commandOptions })
  const topology = connection.topology
  const access = accessOf(connection.url)
  if (topology._tag === "Sentinel") {
    return new Redis({
      ...prefix,
      ...commandOptions,
      ...access,
      sentinels: topology.sentinels.map(({ host, port }) => ({ host, port })),
      name: topology.name,
      ...Option.match(topology.sentinelPassword, {
        onNone: () => ({}),
        onSome: (password) => ({ sentinelPassword: Redacted.value(password) })
      }),
      ...(access.tls === undefined ? {} : { enableTLSForSentinelMode: true, sentinelTLS: {} })
    })
  }
  // Commands fail fast at the cluster; its node connections queue, or the cluster could not load its slot map.
  const { retryStrategy, enableOfflineQueue, ...nodeOptions } = commandOptions
  return new Cluster(
    topology.nodes.map(({ host, port }) => ({ host, port })),
    {
      ...prefix,
      enableOfflineQueue,
      clusterRetryStrategy: retryStrategy,
      // Cluster has database 0 only.
      redisOptions: { ...nodeOptions, ...access, db: 0 }
    }
  )
}

/**
 * A Redis connection for the cache and the rate limiter, closed with the scope. The first connection gets a
 * few seconds before serving; `connected` says whether it made it.
 */
export const openRedis = (connection: RedisConnection, keyPrefix?: string) =>
  Effect.gen(function* () {
    const redis = yield* Effect.acquireRelease(
      Effect.sync(() => connect(connection, keyPrefix)),
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
