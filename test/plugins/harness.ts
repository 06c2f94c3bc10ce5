import { randomUUID } from "node:crypto"
import { FetchHttpClient } from "@effect/platform"
import { ConfigProvider, Context, Duration, Effect, Layer, Option, Redacted, Schedule, type Scope } from "effect"
import { AppConfig, type AppSettings } from "../../src/layers/config.js"
import { SqlClient } from "../../src/layers/database.js"
import { InfraLive } from "../../src/layers/index.js"
import { PlinthLive } from "../../src/main.js"
import type { Plugin } from "../../src/plugins/module.js"
import { PluginRegistry, pluginRegistry } from "../../src/plugins/registry.js"
import { ADMIN } from "../identity/harness.js"
import { deleteAmqpTopology } from "../support/amqp.js"
import { freshPostgresDatabase } from "../support/postgres.js"
import { freePort, TestServer } from "../support/server.js"
import { serviceUrl } from "../support/services.js"
import { testSettings } from "../support/settings.js"

const databaseUrl = serviceUrl("TEST_DATABASE_URL")
const redisUrl = serviceUrl("TEST_REDIS_URL")
const amqpUrl = serviceUrl("TEST_AMQP_URL")

/**
 * Every queue a server with all plugins declares on RabbitMQ: each consumer with its attempts and first retry
 * delay, webhook deliveries both with their defaults and with this suite's fast retries.
 */
const declaredQueues = [
  {
    consumers: { "storage-purge": 16, "audit-log": 16, "webhooks-fanout": 16, "webhooks-user-erasure": 16 },
    delay: Duration.seconds(1)
  },
  { consumers: { "webhooks-delivery": 13 }, delay: Duration.seconds(20) },
  { consumers: { "webhooks-delivery": 4 }, delay: Duration.millis(100) }
]

export interface PluginBackend {
  readonly name: string
  /** The settings of the backing services, acquired for the suite (a fresh database, a fresh exchange). */
  readonly settings: Effect.Effect<Partial<AppSettings>, never, Scope.Scope>
}

/** Embedded defaults always; PostgreSQL, Redis and RabbitMQ together when their URLs are given. */
export const backends: ReadonlyArray<PluginBackend> = [
  { name: "embedded", settings: Effect.succeed({}) },
  ...(databaseUrl === undefined || redisUrl === undefined || amqpUrl === undefined
    ? []
    : [
        {
          name: "PostgreSQL, Redis and RabbitMQ",
          settings: Effect.gen(function* () {
            const database = yield* freshPostgresDatabase(databaseUrl)
            const exchange = `plinth.test.${randomUUID().slice(0, 8)}`
            yield* Effect.addFinalizer(() =>
              Effect.promise(async () => {
                for (const { consumers, delay } of declaredQueues) {
                  await deleteAmqpTopology(amqpUrl, exchange, consumers, delay)
                }
              }).pipe(Effect.ignore)
            )
            return {
              databaseUrl: Option.some(Redacted.make(database)),
              redisUrl: Option.some(Redacted.make(redisUrl)),
              amqpUrl: Option.some(Redacted.make(amqpUrl)),
              amqpExchange: exchange
            } satisfies Partial<AppSettings>
          })
        }
      ])
]

/** Webhook retries in this suite: four attempts, 100 ms apart and doubling. */
export const FAST_RETRIES = { PLUGIN_WEBHOOKS_MAX_ATTEMPTS: "4", PLUGIN_WEBHOOKS_RETRY_BASE_DELAY: "100 millis" }

/** The server's own database connection, for what no endpoint shows: tables, and rows a test tampers with. */
export class Database extends Context.Tag("test/Database")<Database, SqlClient.SqlClient>() {}

export interface PluginServerOptions {
  readonly plugins: ReadonlyArray<string>
  /** The PLUGIN_* variables, as the environment would give them. */
  readonly env?: Readonly<Record<string, string>>
  readonly registry?: Readonly<Record<string, Plugin>>
  readonly settings?: Partial<AppSettings>
}

/** The program as `npm start` composes it, with `PLUGINS` and the plugins' variables, plus the bootstrap admin. */
export const buildServer = (options: PluginServerOptions, base: Partial<AppSettings> = {}) =>
  Effect.gen(function* () {
    const port = yield* freePort()
    const settings = testSettings({
      port,
      admin: Option.some({ email: ADMIN.email, password: Redacted.make(ADMIN.password) }),
      ...base,
      ...options.settings,
      plugins: options.plugins
    })
    const context = yield* Layer.build(
      Layer.merge(PlinthLive, InfraLive).pipe(
        Layer.provide(Layer.succeed(AppConfig, settings)),
        Layer.provide(Layer.succeed(PluginRegistry, options.registry ?? pluginRegistry)),
        Layer.provide(
          Layer.setConfigProvider(
            ConfigProvider.fromMap(new Map(Object.entries(options.env ?? {})), { pathDelim: "_" })
          )
        )
      )
    )
    return { url: `http://127.0.0.1:${port}`, settings, sql: Context.get(context, SqlClient.SqlClient) }
  })

/** A suite's server on `backend`, as the TestServer the identity helpers talk to, with an HTTP client. */
export const pluginServer = (backend: PluginBackend, options: PluginServerOptions) =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const base = yield* backend.settings
      const { url, settings, sql } = yield* buildServer(options, base)
      return Context.make(TestServer, { url, settings }).pipe(Context.add(Database, sql))
    })
  ).pipe(Layer.merge(FetchHttpClient.layer))

/** Polls until `done` holds, for at most `seconds`. */
export const waitFor = <A, E, R>(
  read: Effect.Effect<A, E, R>,
  done: (value: A) => boolean,
  what: string,
  seconds = 20
) =>
  read.pipe(
    Effect.filterOrFail(done, () => new Error(`timed out waiting for ${what}`)),
    Effect.retry({ schedule: Schedule.spaced("50 millis"), times: seconds * 20 })
  )

/** The tables of the public schema, to see a plugin's migrations come and stay. */
export const tables = Effect.flatMap(Database, (sql) =>
  Effect.map(
    sql<{ tableName: string }>`select table_name from information_schema.tables where table_schema = 'public'`,
    (rows) => rows.map((row) => row.tableName)
  )
)
