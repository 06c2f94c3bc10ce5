import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import { PgClient } from "@effect/sql-pg"
import { Deferred, Duration, Effect, Layer, Queue, Redacted, Stream, String } from "effect"
import pg from "pg"
import { DatabaseNotifications, ReadReplica } from "../database.js"
import { samplePoolOnScrape } from "../telemetry.js"

export interface PostgresOptions {
  readonly url: Redacted.Redacted
  readonly maxConnections: number
}

const connectTimeout = Duration.seconds(3)

/**
 * The pool is ours, not PgClient's, so its counts can be reported. Named prepared statements and session
 * settings are avoided, so it also works through PgBouncer in transaction mode.
 */
const makePool = (options: PostgresOptions, name: "primary" | "replica") =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const pool = new pg.Pool({
          connectionString: Redacted.value(options.url),
          max: options.maxConnections,
          connectionTimeoutMillis: Duration.toMillis(connectTimeout),
          idleTimeoutMillis: 30_000,
          application_name: "plinth"
        })
        // A broken idle connection is dropped by the pool; the next statement gets a fresh one.
        pool.on("error", () => undefined)
        try {
          await pool.query("select 1")
        } catch (cause) {
          await pool.end().catch(() => undefined)
          throw cause
        }
        return pool
      },
      catch: (cause) => new SqlError({ cause, message: "PgClient: Failed to connect" })
    }),
    (pool) => Effect.promise(() => pool.end()).pipe(Effect.timeoutOption("1 second"))
  ).pipe(
    Effect.tap((pool) =>
      samplePoolOnScrape(name, () => ({
        inUse: pool.totalCount - pool.idleCount,
        idle: pool.idleCount,
        waiting: pool.waitingCount
      }))
    )
  )

const clientOptions = (options: PostgresOptions, name: "primary" | "replica"): PgClient.PgClientFromPoolOptions => ({
  acquire: makePool(options, name),
  transformQueryNames: String.camelToSnake,
  transformResultNames: String.snakeToCamel
})

/**
 * Each listener holds a connection of its own, outside the pool. PgClient's `listen` shares one connection
 * and keeps waiting on it after it drops; this stream fails instead, so the listener can reconnect.
 */
const makeNotifications = (options: PostgresOptions) =>
  Layer.effect(
    DatabaseNotifications,
    Effect.map(SqlClient.SqlClient, (sql) => {
      const listen = (channel: string) =>
        Effect.gen(function* () {
          const received = yield* Queue.unbounded<string>()
          const lost = yield* Deferred.make<never, SqlError>()
          const fail = (cause: unknown) =>
            Deferred.unsafeDone(lost, Effect.fail(new SqlError({ cause, message: "Lost the connection that listens" })))
          yield* Effect.acquireRelease(
            Effect.tryPromise({
              try: async () => {
                const client = new pg.Client({
                  connectionString: Redacted.value(options.url),
                  connectionTimeoutMillis: Duration.toMillis(connectTimeout),
                  keepAlive: true
                })
                client.on("notification", (message) => {
                  if (message.channel === channel) received.unsafeOffer(message.payload ?? "")
                })
                client.on("error", fail)
                client.on("end", () => fail("the connection ended"))
                try {
                  await client.connect()
                  await client.query(`LISTEN ${client.escapeIdentifier(channel)}`)
                } catch (cause) {
                  await client.end().catch(() => undefined)
                  throw cause
                }
                return client
              },
              catch: (cause) => new SqlError({ cause, message: "Failed to listen" })
            }),
            (client) => Effect.promise(() => client.end().catch(() => undefined))
          )
          return Stream.fromQueue(received).pipe(Stream.interruptWhen(Deferred.await(lost)))
        })

      const notify = (channel: string, payload: string) => Effect.asVoid(sql`select pg_notify(${channel}, ${payload})`)

      return DatabaseNotifications.of({ listen, notify })
    })
  )

export const makePostgresClient = (options: PostgresOptions) =>
  makeNotifications(options).pipe(Layer.provideMerge(PgClient.layerFromPool(clientOptions(options, "primary"))))

/** A second pool, to the replica, for reads that tolerate lag. */
export const makePostgresReplica = (options: PostgresOptions) =>
  Layer.scoped(ReadReplica, PgClient.fromPool(clientOptions(options, "replica"))).pipe(Layer.provide(Reactivity.layer))
