import { randomBytes } from "node:crypto"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Metric, Option, Schedule, Stream } from "effect"
import { makeCipherAesGcm } from "../../src/layers/crypto/aes-gcm.js"
import { SqlClient } from "../../src/layers/database.js"
import { makePgliteClient } from "../../src/layers/database/pglite.js"
import { coreMigrations } from "../../src/layers/migrations/core.js"
import { makeMigrationsLive } from "../../src/layers/migrations/index.js"
import { Queue } from "../../src/layers/queue.js"
import { QueueMemory } from "../../src/layers/queue/memory.js"
import { Storage } from "../../src/layers/storage.js"
import { makeStorageFiles } from "../../src/layers/storage/files.js"
import { makeStorageS3 } from "../../src/layers/storage/s3.js"
import { Events } from "../../src/services/events/events.js"
import { eventsRetried } from "../../src/services/events/metrics.js"
import { eventsMigrations } from "../../src/services/events/migrations.js"
import { OutboxRelayLive } from "../../src/services/events/relay.js"
import { StoragePurgeConsumer } from "../../src/services/events/storage-purge.js"
import { startS3rver } from "../support/s3rver.js"
import { tempDir } from "../support/settings.js"
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js"

/** The link to S3, which a test may cut; none for files on disk. */
class StorageLink extends Context.Tag("test/StorageLink")<StorageLink, Option.Option<TcpProxy>>() {}

const FilesStorage = Layer.merge(
  makeStorageFiles(tempDir("purge")).pipe(Layer.provide(makeCipherAesGcm([{ kid: "purge", key: randomBytes(32) }]))),
  Layer.succeed(StorageLink, Option.none())
)

const S3Storage = Layer.unwrapScoped(
  Effect.gen(function* () {
    const server = yield* Effect.acquireRelease(Effect.promise(startS3rver), (server) => Effect.promise(server.close))
    const proxy = yield* Effect.acquireRelease(
      Effect.promise(() => startTcpProxy("127.0.0.1", Number(new URL(server.endpoint).port))),
      (proxy) => Effect.promise(() => proxy.close())
    )
    const endpoint = Option.some(`http://127.0.0.1:${proxy.port}`)
    return Layer.merge(makeStorageS3({ ...server.settings, endpoint }), Layer.succeed(StorageLink, Option.some(proxy)))
  })
)

/** As a worker runs it: the purge consumer subscribes, then the relay starts. */
const Worker = OutboxRelayLive.pipe(
  Layer.provide(Layer.scopedDiscard(Effect.flatMap(Queue, (queue) => queue.consume(StoragePurgeConsumer))))
)

const purgeRetries = Effect.map(
  Metric.value(Metric.tagged(eventsRetried, "consumer", StoragePurgeConsumer.name)),
  (state) => state.count
)

const put = (key: string) =>
  Effect.flatMap(Storage, (storage) =>
    storage.put(key, Stream.make(new TextEncoder().encode(key)), { contentType: "text/plain" })
  )

const exists = (key: string) => Effect.flatMap(Storage, (storage) => Effect.map(storage.head(key), Option.isSome))

const requestPurge = (keys: ReadonlyArray<string>, prefixes: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const events = yield* Events
    yield* sql.withTransaction(
      events.record({ _tag: "storage.purge_requested", actor: null, payload: { keys, prefixes } })
    )
  })

const purged = (count: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ total: number }>`select count(*)::int as total from processed_events where consumer = 'storage-purge'`.pipe(
      Effect.filterOrFail(
        ([row]) => row?.total === count,
        () => new Error(`waiting for purge ${count}`)
      ),
      Effect.retry({ schedule: Schedule.spaced("50 millis"), times: 400 })
    )
  )

/** Deleting with the empty prefix counts whatever the purge left behind. */
const leftovers = Effect.flatMap(Storage, (storage) => storage.deleteByPrefix(""))

const backends = [
  ["files", FilesStorage],
  ["S3", S3Storage]
] as const

for (const [name, storage] of backends) {
  const Rig = Layer.merge(Events.layer, Worker).pipe(
    Layer.provideMerge(makeMigrationsLive({ ...coreMigrations, ...eventsMigrations })),
    Layer.provideMerge(Layer.mergeAll(makePgliteClient(tempDir("purge-db")), QueueMemory, storage))
  )

  layer(Rig, { excludeTestServices: true, timeout: "60 seconds" })(`Storage purge consumer: ${name}`, (it) => {
    it.effect("deletes the keys and prefixes of a purge request and nothing else", () =>
      Effect.gen(function* () {
        const files = ["projects/p1/files/a", "projects/p1/files/b", "projects/p1/files/c"]
        const underPrefix = ["users/u1/avatar", "users/u1/docs/cv"]
        yield* Effect.forEach([...files, ...underPrefix, "keep/me"], put, { discard: true })

        yield* requestPurge(files, ["users/u1/"])
        yield* purged(1)

        for (const key of [...files, ...underPrefix]) expect(yield* exists(key)).toBe(false)
        expect(yield* exists("keep/me")).toBe(true)
        expect(yield* leftovers).toBe(1)
      })
    )

    // Files on a local disk have no link to cut.
    it.effect.runIf(name === "S3")("keeps retrying while storage is down and purges once it answers", () =>
      Effect.gen(function* () {
        const link = yield* StorageLink
        const proxy = Option.getOrThrow(link)
        const files = ["projects/p3/files/a", "projects/p3/files/b", "projects/p3/files/c"]
        yield* Effect.forEach(files, put, { discard: true })
        const retriesBefore = yield* purgeRetries

        yield* Effect.promise(() => proxy.cut())
        yield* requestPurge(files, [])
        yield* purgeRetries.pipe(
          Effect.filterOrFail(
            (retries) => retries >= retriesBefore + 2,
            () => new Error("waiting for two failed attempts")
          ),
          Effect.retry({ schedule: Schedule.spaced("50 millis"), times: 200 })
        )
        yield* Effect.promise(() => proxy.restore())

        yield* purged(2)
        for (const key of files) expect(yield* exists(key)).toBe(false)
        expect(yield* leftovers).toBe(0)
      })
    )

    it.effect("refuses a purge request whose prefix would name every object", () =>
      Effect.gen(function* () {
        const storage = yield* Storage
        yield* put("projects/p4/files/a")
        const retriesBefore = yield* purgeRetries
        yield* requestPurge(["projects/p4/files/a"], [""])
        yield* purgeRetries.pipe(
          Effect.filterOrFail(
            (retries) => retries > retriesBefore,
            () => new Error("waiting for the refusal")
          ),
          Effect.retry({ schedule: Schedule.spaced("50 millis"), times: 200 })
        )
        expect(yield* exists("projects/p4/files/a")).toBe(true)
        yield* storage.delete("projects/p4/files/a")
      })
    )
  })
}
