import { Context, Data, type Duration, Effect, Metric, Option } from "effect"
import { cacheHits, cacheMisses } from "./telemetry.js"

export class CacheUnavailable extends Data.TaggedError("CacheUnavailable")<{ readonly cause?: unknown }> {}

/**
 * A cache never fails a request: while its backend is down every read is a miss and every write a no-op
 * (logged once per outage). Only `ping`, used by readiness, reports the outage.
 */
export interface CacheShape {
  readonly get: (key: string) => Effect.Effect<Option.Option<string>>
  /**
   * The values under `keys`, in their order, read in one round trip. On Redis Cluster the keys must share a hash
   * slot: give them the same `{hash tag}`.
   */
  readonly getMany: (keys: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Option.Option<string>>>
  readonly set: (key: string, value: string, ttl: Duration.DurationInput) => Effect.Effect<void>
  readonly delete: (key: string) => Effect.Effect<void>
  readonly deleteByPrefix: (prefix: string) => Effect.Effect<void>
  /** Adds one to a counter that expires `window` after its first increment; returns the new count. */
  readonly increment: (key: string, window: Duration.DurationInput) => Effect.Effect<number>
  readonly ping: Effect.Effect<void, CacheUnavailable>
}

export class Cache extends Context.Tag("app/Cache")<Cache, CacheShape>() {}

/**
 * Cache-aside: the value under `key`, or what `load` yields, stored for `ttl`. A failed load stores nothing.
 * `load` is only built on a miss, so a hit pays nothing for the query it did not run.
 */
export const readThrough = <E, R>(
  cache: CacheShape,
  key: string,
  ttl: Duration.DurationInput,
  load: () => Effect.Effect<string, E, R>
) =>
  Effect.flatMap(
    cache.get(key),
    Option.match({ onSome: Effect.succeed, onNone: () => Effect.tap(load(), (value) => cache.set(key, value, ttl)) })
  )

/**
 * Every implementation's writes get the same spans, and its reads the same hit and miss counts. Reads have no
 * span of their own: they are the hot path of every authenticated request (session, profile, project), and an
 * Effect span costs more CPU than an in-memory read; the request's span and the hit and miss counts cover them.
 */
const countLookups = (values: ReadonlyArray<Option.Option<string>>) => {
  const hits = values.filter(Option.isSome).length
  return Effect.zipRight(Metric.incrementBy(cacheHits, hits), Metric.incrementBy(cacheMisses, values.length - hits))
}

export const instrumentCache = (cache: CacheShape): CacheShape => ({
  get: (key) => Effect.tap(cache.get(key), (value) => Metric.increment(Option.isSome(value) ? cacheHits : cacheMisses)),
  getMany: (keys) => Effect.tap(cache.getMany(keys), countLookups),
  set: (key, value, ttl) => Effect.withSpan(cache.set(key, value, ttl), "Cache.set"),
  delete: (key) => Effect.withSpan(cache.delete(key), "Cache.delete"),
  deleteByPrefix: (prefix) => Effect.withSpan(cache.deleteByPrefix(prefix), "Cache.deleteByPrefix"),
  increment: (key, window) => Effect.withSpan(cache.increment(key, window), "Cache.increment"),
  ping: Effect.withSpan(cache.ping, "Cache.ping")
})
