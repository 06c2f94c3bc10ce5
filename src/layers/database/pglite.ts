import { PGlite, types } from "@electric-sql/pglite"
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm"
import * as Reactivity from "@effect/experimental/Reactivity"
import { PgClient } from "@effect/sql-pg"
import { SqlClient } from "@effect/sql"
import type { Connection } from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import * as Statement from "@effect/sql/Statement"
import { Context, Effect, Layer, Queue, Stream, String } from "effect"
import { mkdir } from "node:fs/promises"
import { DatabaseNotifications } from "../database.js"
import { samplePoolOnScrape } from "../telemetry.js"

type TransformRows = (<A extends object>(rows: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined

/**
 * PGlite is one PostgreSQL backend in this process with one session. A one-permit semaphore, held by a
 * transaction from BEGIN to COMMIT, keeps other fibers' statements out of it; outside transactions each
 * statement takes the permit for itself.
 */
const make = (directory: string) =>
  Effect.gen(function* () {
    yield* Effect.promise(() => mkdir(directory, { recursive: true }))
    const db = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const db = new PGlite({
            dataDir: directory,
            extensions: { pg_trgm },
            // PostgreSQL's default 128 MB of shared buffers is most of the embedded server's memory; 32 MB
            // serves a single-process deployment and keeps idle RSS low.
            postgresqlconf: ["shared_buffers = 32MB"],
            // The pg driver hands int8 and numeric over as strings; the embedded client does the same, so
            // code written against one reads identical rows from the other.
            parsers: { [types.INT8]: (value: string) => value, [types.NUMERIC]: (value: string) => value }
          })
          await db.waitReady
          return db
        },
        catch: (cause) => new SqlError({ cause, message: "Failed to open the embedded database" })
      }),
      (db) => Effect.promise(() => db.close())
    )
    const permit = yield* Effect.makeSemaphore(1)
    // The session is the embedded database's pool of one: who holds it and how many fibers wait for it.
    const usage = { inUse: 0, waiting: 0 }
    const holding = Effect.sync(() => {
      usage.waiting--
      usage.inUse++
    })
    const released = Effect.sync(() => {
      usage.inUse--
    })
    const exclusively = <A, E>(effect: Effect.Effect<A, E>) =>
      Effect.suspend(() => {
        let acquired = false
        usage.waiting++
        return permit
          .withPermits(1)(
            Effect.zipRight(
              Effect.tap(holding, () => {
                acquired = true
              }),
              Effect.ensuring(effect, released)
            )
          )
          .pipe(
            Effect.onExit(() =>
              Effect.sync(() => {
                if (!acquired) usage.waiting--
              })
            )
          )
      })
    yield* samplePoolOnScrape("embedded", () => ({
      inUse: usage.inUse,
      idle: 1 - usage.inUse,
      waiting: usage.waiting
    }))
    const compiler = PgClient.makeCompiler(String.camelToSnake)
    const transformRows = Statement.defaultTransforms(String.snakeToCamel).array

    const run = <Row>(sql: string, params: ReadonlyArray<unknown>, rowMode: "object" | "array") =>
      Effect.tryPromise({
        try: () => db.query<Row>(sql, [...params], { rowMode }),
        catch: (cause) => new SqlError({ cause, message: "Failed to execute statement" })
      }).pipe(Effect.map((result): ReadonlyArray<Row> => result.rows))

    const connection = (exclusive: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E>): Connection => {
      const execute = (sql: string, params: ReadonlyArray<unknown>, transform: TransformRows) =>
        exclusive(run<Record<string, unknown>>(sql, params, "object")).pipe(
          Effect.map((rows) => (transform ? transform(rows) : rows))
        )
      return {
        execute,
        executeRaw: (sql, params) => exclusive(run<Record<string, unknown>>(sql, params, "object")),
        executeStream: (sql, params, transform) => Stream.fromIterableEffect(execute(sql, params, transform)),
        executeValues: (sql, params) => exclusive(run<ReadonlyArray<unknown>>(sql, params, "array")),
        executeUnprepared: execute
      }
    }

    const shared = connection(exclusively)
    const reserved = connection((effect) => effect)

    const client = yield* SqlClient.make({
      acquirer: Effect.succeed(shared),
      transactionAcquirer: Effect.as(
        Effect.acquireRelease(
          Effect.zipRight(
            Effect.sync(() => usage.waiting++),
            Effect.zipRight(permit.take(1), holding).pipe(Effect.onInterrupt(() => Effect.sync(() => usage.waiting--)))
          ),
          () => Effect.zipRight(released, permit.release(1))
        ),
        reserved
      ),
      compiler,
      transformRows,
      spanAttributes: [
        ["db.system.name", "postgresql"],
        ["db.namespace", "pglite"]
      ]
    })

    // LISTEN is a statement of the one session, so it waits for the permit like any other.
    const listen = (channel: string) =>
      Effect.gen(function* () {
        const received = yield* Queue.unbounded<string>()
        yield* Effect.acquireRelease(
          exclusively(
            Effect.tryPromise({
              try: () => db.listen(channel, (payload) => received.unsafeOffer(payload)),
              catch: (cause) => new SqlError({ cause, message: "Failed to listen" })
            })
          ),
          (unlisten) => exclusively(Effect.promise(() => unlisten().catch(() => undefined)))
        )
        return Stream.fromQueue(received)
      })

    const notify = (channel: string, payload: string) => Effect.asVoid(client`select pg_notify(${channel}, ${payload})`)

    return Context.make(SqlClient.SqlClient, client).pipe(
      Context.add(DatabaseNotifications, DatabaseNotifications.of({ listen, notify }))
    )
  })

/** The embedded database: PostgreSQL compiled to WASM, persisted in `directory`. */
export const makePgliteClient = (directory: string) =>
  Layer.scopedContext(make(directory)).pipe(Layer.provide(Reactivity.layer))
