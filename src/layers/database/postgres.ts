import * as Reactivity from "@effect/experimental/Reactivity"
import { PgClient } from "@effect/sql-pg"
import { Duration, Layer, type Redacted, String } from "effect"
import { ReadReplica } from "../database.js"

export interface PostgresOptions {
  readonly url: Redacted.Redacted
  readonly maxConnections: number
}

/**
 * Named prepared statements and session settings are avoided, so the pool also works through
 * PgBouncer in transaction mode.
 */
const clientConfig = (options: PostgresOptions): PgClient.PgClientConfig => ({
  url: options.url,
  maxConnections: options.maxConnections,
  connectTimeout: Duration.seconds(3),
  idleTimeout: Duration.seconds(30),
  transformQueryNames: String.camelToSnake,
  transformResultNames: String.snakeToCamel
})

export const makePostgresClient = (options: PostgresOptions) => PgClient.layer(clientConfig(options))

/** A second pool, to the replica, for reads that tolerate lag. */
export const makePostgresReplica = (options: PostgresOptions) =>
  Layer.scoped(ReadReplica, PgClient.make(clientConfig(options))).pipe(Layer.provide(Reactivity.layer))
