import { Duration, Effect, Layer, Option } from "effect"
import { Cache, instrumentCache } from "../cache.js"

interface Entry {
  readonly value: string
  readonly expiresAt: number
}

/**
 * A Map keeps insertion order, so re-inserting on read makes the first key the least recently used one:
 * eviction and expiry are O(1) per operation.
 */
export const makeCacheMemory = (maxEntries: number) =>
  Layer.sync(Cache, () => {
    const entries = new Map<string, Entry>()
    const live = (key: string, now: number): Entry | undefined => {
      const entry = entries.get(key)
      if (entry === undefined) return undefined
      entries.delete(key)
      if (entry.expiresAt <= now) return undefined
      entries.set(key, entry)
      return entry
    }
    const store = (key: string, entry: Entry) => {
      entries.delete(key)
      entries.set(key, entry)
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next()
        if (oldest.done === true) break
        entries.delete(oldest.value)
      }
    }
    return Cache.of(
      instrumentCache({
        get: (key) => Effect.sync(() => Option.fromNullable(live(key, Date.now())?.value)),
        getMany: (keys) =>
          Effect.sync(() => {
            const now = Date.now()
            return keys.map((key) => Option.fromNullable(live(key, now)?.value))
          }),
        set: (key, value, ttl) =>
          Effect.sync(() => store(key, { value, expiresAt: Date.now() + Duration.toMillis(ttl) })),
        delete: (key) => Effect.sync(() => void entries.delete(key)),
        deleteByPrefix: (prefix) =>
          Effect.sync(() => {
            for (const key of entries.keys()) if (key.startsWith(prefix)) entries.delete(key)
          }),
        increment: (key, window) =>
          Effect.sync(() => {
            const now = Date.now()
            const current = live(key, now)
            const count = current === undefined ? 1 : Number(current.value) + 1
            store(key, { value: String(count), expiresAt: current?.expiresAt ?? now + Duration.toMillis(window) })
            return count
          }),
        ping: Effect.void
      })
    )
  })
