import { Effect } from "effect"
import { isValidKey, isValidPrefix, Storage } from "../../layers/storage.js"
import { EventRefused, eventConsumer } from "./consumer.js"

/**
 * Deletes stored contents whose rows are gone. Deletes are idempotent, so a retry after a partial purge or a
 * failed commit only finishes the job. Sixteen attempts from a 1-second delay keep retrying for about nine
 * hours before the event is dead-lettered for an operator to replay.
 */
export const StoragePurgeConsumer = eventConsumer({
  name: "storage-purge",
  events: ["storage.purge_requested"],
  maxAttempts: 16,
  retryBaseDelay: "1 second",
  handle: (event) =>
    Effect.gen(function* () {
      const storage = yield* Storage
      const { keys, prefixes } = event.payload
      // An empty prefix names every object in storage.
      const invalid = [
        ...keys.filter((key) => !isValidKey(key)),
        ...prefixes.filter((p) => p === "" || !isValidPrefix(p))
      ]
      if (invalid.length > 0) {
        return yield* new EventRefused({ reason: `invalid storage keys or prefixes: ${JSON.stringify(invalid)}` })
      }
      yield* Effect.forEach(keys, (key) => storage.delete(key), { concurrency: 8, discard: true })
      yield* Effect.forEach(prefixes, (prefix) => storage.deleteByPrefix(prefix), { concurrency: 2, discard: true })
    }).pipe(Effect.timeout("1 minute"), Effect.withSpan("StoragePurge.handle"))
})
