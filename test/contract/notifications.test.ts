import { describe, expect, layer } from "@effect/vitest"
import { Chunk, Effect, Fiber, Layer, Redacted, Stream } from "effect"
import { DatabaseNotifications, SqlClient } from "../../src/layers/database.js"
import { makePgliteClient } from "../../src/layers/database/pglite.js"
import { makePostgresClient } from "../../src/layers/database/postgres.js"
import { freshPostgresDatabase } from "../support/postgres.js"
import { serviceUrl } from "../support/services.js"
import { tempDir } from "../support/settings.js"

const postgresUrl = serviceUrl("TEST_DATABASE_URL")

const implementations: ReadonlyArray<
  readonly [string, Layer.Layer<SqlClient.SqlClient | DatabaseNotifications, unknown>]
> = [
  ["PGlite", makePgliteClient(tempDir("notifications"))],
  ...(postgresUrl === undefined
    ? []
    : [
        [
          "PostgreSQL",
          Layer.unwrapScoped(
            Effect.map(freshPostgresDatabase(postgresUrl), (url) =>
              makePostgresClient({ url: Redacted.make(url), maxConnections: 2 })
            )
          )
        ] as const
      ])
]

/** Listens, then collects the next `count` payloads in the background. */
const collect = (channel: string, count: number) =>
  Effect.gen(function* () {
    const notifications = yield* DatabaseNotifications
    const received = yield* notifications.listen(channel)
    return yield* received.pipe(Stream.take(count), Stream.runCollect, Effect.map(Chunk.toArray), Effect.fork)
  })

const within = <A, E>(fiber: Fiber.Fiber<A, E>) =>
  Fiber.join(fiber).pipe(
    Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error("no notification arrived") })
  )

describe.each(implementations)("DatabaseNotifications contract: %s", (_, database) => {
  layer(database, { timeout: "60 seconds", excludeTestServices: true })((it) => {
    it.scoped("delivers what is sent once listening, on its own channel only", () =>
      Effect.gen(function* () {
        const notifications = yield* DatabaseNotifications
        const received = yield* collect("plain", 2)
        yield* notifications.notify("other", "not for us")
        yield* notifications.notify("plain", "one")
        yield* notifications.notify("plain", "two")
        expect(yield* within(received)).toEqual(["one", "two"])
      })
    )

    it.scoped("delivers a notification sent in a transaction at commit, and none from a rollback", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const notifications = yield* DatabaseNotifications
        const received = yield* collect("tx", 1)
        yield* sql
          .withTransaction(Effect.zipRight(notifications.notify("tx", "rolled back"), Effect.fail("abort")))
          .pipe(Effect.ignore)
        yield* sql.withTransaction(
          Effect.gen(function* () {
            yield* notifications.notify("tx", "committed")
            yield* Effect.sleep("100 millis")
            expect(received.unsafePoll()).toBeNull()
          })
        )
        expect(yield* within(received)).toEqual(["committed"])
      })
    )

    it.scoped("listens again on a channel whose earlier listener has closed", () =>
      Effect.gen(function* () {
        const notifications = yield* DatabaseNotifications
        const first = yield* Effect.scoped(
          Effect.flatMap(collect("closing", 1), (fiber) =>
            Effect.zipRight(notifications.notify("closing", "first"), within(fiber))
          )
        )
        expect(first).toEqual(["first"])
        const later = yield* collect("closing", 1)
        yield* notifications.notify("closing", "second")
        expect(yield* within(later)).toEqual(["second"])
      })
    )
  })
})

describe.runIf(postgresUrl !== undefined)("DatabaseNotifications over PostgreSQL", () => {
  const Database = Layer.unwrapScoped(
    Effect.map(freshPostgresDatabase(postgresUrl ?? ""), (url) =>
      makePostgresClient({ url: Redacted.make(url), maxConnections: 2 })
    )
  )

  layer(Database, { timeout: "60 seconds", excludeTestServices: true })((it) => {
    it.scoped("fails the stream when the listening connection is lost, so the listener can listen again", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const notifications = yield* DatabaseNotifications
        const received = yield* notifications.listen("severed")
        const outcome = yield* Effect.fork(Stream.runDrain(received))
        yield* sql`select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and query ilike 'listen%'`
        const exit = yield* Fiber.await(outcome).pipe(Effect.timeout("5 seconds"))
        expect(exit._tag).toBe("Failure")
      })
    )
  })
})
