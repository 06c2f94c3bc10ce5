import { Context, Duration, Effect, Layer } from "effect"
import { Cache } from "../../layers/cache.js"
import { AppConfig } from "../../layers/config.js"
import { ReadReplica, SqlClient } from "../../layers/database.js"
import { Queue } from "../../layers/queue.js"
import { Storage } from "../../layers/storage.js"

export type Backend = "database" | "database-replica" | "cache" | "queue" | "storage"

export interface BackendStatus {
  readonly backend: Backend
  readonly up: boolean
}

export interface ReadinessShape {
  /** Probes every backend concurrently, each bounded by READINESS_TIMEOUT_MS. */
  readonly check: Effect.Effect<ReadonlyArray<BackendStatus>>
}

export class Readiness extends Context.Tag("app/Readiness")<Readiness, ReadinessShape>() {
  static readonly layer = Layer.effect(
    Readiness,
    Effect.gen(function* () {
      const { readinessTimeoutMillis } = yield* AppConfig
      const sql = yield* SqlClient.SqlClient
      const replica = yield* ReadReplica
      const cache = yield* Cache
      const queue = yield* Queue
      const storage = yield* Storage
      const timeout = Duration.millis(readinessTimeoutMillis)

      const probe = (backend: Backend, effect: Effect.Effect<unknown, unknown>) =>
        effect.pipe(
          Effect.timeout(timeout),
          Effect.as<BackendStatus>({ backend, up: true }),
          Effect.catchAllCause(() => Effect.succeed<BackendStatus>({ backend, up: false }))
        )

      const probes = [
        probe("database", sql`select 1`),
        ...(replica === sql ? [] : [probe("database-replica", replica`select 1`)]),
        probe("cache", cache.ping),
        probe("queue", queue.ping),
        probe("storage", storage.ping)
      ]
      return Readiness.of({
        check: Effect.all(probes, { concurrency: "unbounded" }).pipe(Effect.withSpan("Readiness.check"))
      })
    })
  )
}
