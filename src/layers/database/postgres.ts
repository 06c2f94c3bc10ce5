import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import { PgClient } from "@effect/sql-pg"
import { Deferred, Duration, Effect, Layer, Queue, Redacted, Stream, String } from "effect"
import pg from "pg"
import { DatabaseNotifications, ReadReplica } from "../database.js"

export interface PostgresOptions {
  readonly url: Redacted.Redacted
  readonly maxConnections: number
}

const connectTimeout = Duration.seconds(3)

/**
 * Named prepared statements and session settings are avoided, so the pool also works through
 * PgBouncer in transaction mode.
 */
const clientConfig = (options: PostgresOptions): PgClient.PgClientConfig => ({
  url: options.url,
  maxConnections: options.maxConnections,
  connectTimeout,
  idleTimeout: Duration.seconds(30),
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
  makeNotifications(options).pipe(Layer.provideMerge(PgClient.layer(clientConfig(options))))

/** A second pool, to the replica, for reads that tolerate lag. */
export const makePostgresReplica = (options: PostgresOptions) =>
  Layer.scoped(ReadReplica, PgClient.make(clientConfig(options))).pipe(Layer.provide(Reactivity.layer))
