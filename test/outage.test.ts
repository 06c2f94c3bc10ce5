import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Option, Redacted, Ref, Schedule, Schema } from "effect"
import { randomUUID } from "node:crypto"
import { foldApi } from "../src/http/api.js"
import { API_ID } from "../src/http/api-id.js"
import { OperationsGroup } from "../src/http/groups/operations.js"
import { makeHttpLive } from "../src/http/server.js"
import { Cache } from "../src/layers/cache.js"
import { AppConfig } from "../src/layers/config.js"
import { InfraLive } from "../src/layers/index.js"
import { LoggerLive } from "../src/layers/logger.js"
import { coreMigrations } from "../src/layers/migrations/core.js"
import { makeMigrationsLive } from "../src/layers/migrations/index.js"
import { Queue } from "../src/layers/queue.js"
import { OperationsModule } from "../src/plugins/core/operations.js"
import { eventsMigrations } from "../src/services/events/migrations.js"
import { RegisteredConsumers } from "../src/services/events/registered-consumers.js"
import { projectsMigrations } from "../src/services/projects/migrations.js"
import { Projects } from "../src/services/projects/projects.js"
import { ServicesLive } from "../src/services/index.js"
import { freshPostgresDatabase, query } from "./support/postgres.js"
import { freePort, raw } from "./support/server.js"
import { serviceUrl } from "./support/services.js"
import { testSettings } from "./support/settings.js"
import { startTcpProxy, type TcpProxy } from "./support/tcp-proxy.js"

const databaseUrl = serviceUrl("TEST_DATABASE_URL")
const redisUrl = serviceUrl("TEST_REDIS_URL")
const amqpUrl = serviceUrl("TEST_AMQP_URL")

/** Endpoints that each need exactly one backend, served through the production middleware stack. */
const ProbeGroup = HttpApiGroup.make("probe")
  .add(HttpApiEndpoint.get("users", "/probe/users").addSuccess(Schema.Struct({ count: Schema.String })))
  .add(
    HttpApiEndpoint.put("remember", "/probe/cache/:key")
      .setPath(Schema.Struct({ key: Schema.String }))
      .setPayload(Schema.Struct({ value: Schema.String }))
      .addSuccess(HttpApiSchema.NoContent)
  )
  .add(
    HttpApiEndpoint.get("recall", "/probe/cache/:key")
      .setPath(Schema.Struct({ key: Schema.String }))
      .addSuccess(Schema.Struct({ value: Schema.NullOr(Schema.String) }))
  )
  .add(
    HttpApiEndpoint.post("create", "/probe/projects")
      .setPayload(Schema.Struct({ ownerId: Schema.String, name: Schema.String }))
      .addSuccess(Schema.Struct({ id: Schema.String }))
  )
  .add(
    HttpApiEndpoint.post("publish", "/probe/events/:id")
      .setPath(Schema.Struct({ id: Schema.String }))
      .addSuccess(HttpApiSchema.NoContent)
  )

const ProbeHandlers = HttpApiBuilder.group(HttpApi.make(API_ID).add(ProbeGroup), "probe", (handlers) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const cache = yield* Cache
    const queue = yield* Queue
    const projects = yield* Projects
    return handlers
      .handle("create", ({ payload }) =>
        Effect.map(
          projects.create({ userId: payload.ownerId, role: "user", sessionId: "probe" }, { name: payload.name }),
          (project) => ({ id: project.id })
        ).pipe(Effect.orDie)
      )
      .handle("users", () =>
        sql<{ count: string }>`select count(*) as count from users`.pipe(
          Effect.map(([row]) => ({ count: row?.count ?? "0" })),
          Effect.orDie
        )
      )
      .handle("remember", ({ path, payload }) => cache.set(`probe:${path.key}`, payload.value, "1 minute"))
      .handle("recall", ({ path }) =>
        Effect.map(cache.get(`probe:${path.key}`), (value) => ({ value: Option.getOrNull(value) }))
      )
      .handle("publish", ({ path }) =>
        queue
          .publish({ id: path.id, routingKey: "probe.accepted", body: JSON.stringify({ id: path.id }) })
          .pipe(Effect.orDie)
      )
  })
)

interface Outage {
  readonly url: string
  /** The server's database, reached directly rather than through the proxy. */
  readonly databaseUrl: string
  readonly database: TcpProxy
  readonly cache: TcpProxy
  readonly broker: TcpProxy
  readonly consumed: Ref.Ref<ReadonlyArray<string>>
}
class OutageRig extends Context.Tag("test/OutageRig")<OutageRig, Outage>() {}

const proxyTo = (url: string, fallbackPort: number) =>
  Effect.acquireRelease(
    Effect.promise(() => {
      const target = new URL(url)
      return startTcpProxy(target.hostname, Number(target.port || fallbackPort))
    }),
    (proxy) => Effect.promise(() => proxy.close())
  )

const through = (url: string, proxy: TcpProxy) => {
  const routed = new URL(url)
  routed.hostname = "127.0.0.1"
  routed.port = String(proxy.port)
  return Redacted.make(routed.toString())
}

const OutageRigLive = (urls: { database: string; redis: string; amqp: string }) =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const databaseUrl = yield* freshPostgresDatabase(urls.database)
      const database = yield* proxyTo(databaseUrl, 5432)
      const cache = yield* proxyTo(urls.redis, 6379)
      const broker = yield* proxyTo(urls.amqp, 5672)
      const port = yield* freePort()
      const consumed = yield* Ref.make<ReadonlyArray<string>>([])
      const settings = testSettings({
        port,
        databaseUrl: Option.some(through(databaseUrl, database)),
        redisUrl: Option.some(through(urls.redis, cache)),
        amqpUrl: Option.some(through(urls.amqp, broker)),
        readinessTimeoutMillis: 500
      })
      const consumer = Layer.scopedDiscard(
        Effect.flatMap(Queue, (queue) =>
          queue.consume({
            name: `outage-${port}`,
            routingKeys: ["probe.*"],
            retryBaseDelay: "50 millis",
            handle: (message) => Ref.update(consumed, (ids) => [...ids, message.id])
          })
        )
      )
      const server = makeHttpLive(
        foldApi([OperationsGroup, ProbeGroup]),
        Layer.merge(OperationsModule.http, ProbeHandlers.pipe(Layer.provide(Projects.layer)))
      )
      return Layer.succeed(OutageRig, {
        url: `http://127.0.0.1:${port}`,
        databaseUrl,
        database,
        cache,
        broker,
        consumed
      }).pipe(
        Layer.provideMerge(Layer.merge(server, consumer)),
        Layer.provide(makeMigrationsLive({ ...coreMigrations, ...eventsMigrations, ...projectsMigrations })),
        Layer.provide(ServicesLive),
        Layer.provide(Layer.succeed(RegisteredConsumers, [])),
        Layer.provide(InfraLive),
        Layer.provide(LoggerLive),
        Layer.provide(Layer.succeed(AppConfig, settings))
      )
    })
  )

/** Polls until the check passes, as a client retrying after Retry-After would. */
const eventually = <A>(check: Effect.Effect<A, unknown>, seconds = 20) =>
  check.pipe(Effect.retry({ schedule: Schedule.spaced("200 millis"), times: seconds * 5 }))

const readiness = (url: string) =>
  Effect.map(raw(`${url}/health/ready`), (response) => ({
    status: response.status,
    retryAfter: response.headers.get("retry-after"),
    unavailable: (response.json as { unavailable?: ReadonlyArray<string> }).unavailable ?? []
  }))

const expectStatus = (url: string, init: RequestInit, status: number) =>
  Effect.flatMap(raw(url, init), (response) =>
    response.status === status ? Effect.succeed(response) : Effect.fail(`expected ${status}, got ${response.status}`)
  )

const suite = databaseUrl !== undefined && redisUrl !== undefined && amqpUrl !== undefined
describe.runIf(suite)("Outages of real backends, through a TCP proxy the test cuts", () => {
  layer(OutageRigLive({ database: databaseUrl ?? "", redis: redisUrl ?? "", amqp: amqpUrl ?? "" }), {
    timeout: "120 seconds",
    excludeTestServices: true
  })((it) => {
    it.effect(
      "database down: creations sent at once are each answered 503, none is written, and creation recovers",
      () =>
        Effect.gen(function* () {
          const rig = yield* OutageRig
          const ownerId = randomUUID()
          yield* query(rig.databaseUrl, "insert into users (id, email, password_hash) values ($1, $2, 'x')", [
            ownerId,
            `${ownerId}@example.com`
          ])
          const create = (name: string) =>
            raw(`${rig.url}/probe/projects`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ ownerId, name })
            })
          expect((yield* create("before")).status).toBe(200)
          yield* Effect.promise(() => rig.database.cut())
          const during = yield* Effect.forEach(["down 1", "down 2", "down 3", "down 4", "down 5"], create, {
            concurrency: "unbounded"
          })
          expect(during.map((response) => response.status)).toEqual([503, 503, 503, 503, 503])
          yield* Effect.promise(() => rig.database.restore())
          yield* eventually(
            Effect.flatMap(create("after"), (response) =>
              response.status === 200 ? Effect.void : Effect.fail(response.status)
            )
          )
          const names = yield* query(rig.databaseUrl, "select name from projects where owner_id = $1 order by name", [
            ownerId
          ])
          expect(names.map((row) => row["name"])).toEqual(["after", "before"])
        }),
      { timeout: 60_000 }
    )

    it.effect(
      "database down: 503 with Retry-After and readiness names it; it recovers without a restart",
      () =>
        Effect.gen(function* () {
          const rig = yield* OutageRig
          yield* expectStatus(`${rig.url}/probe/users`, {}, 200)
          yield* Effect.promise(() => rig.database.cut())
          const down = yield* raw(`${rig.url}/probe/users`)
          expect(down.status).toBe(503)
          expect(down.headers.get("retry-after")).toBe("5")
          expect(down.headers.get("content-type")).toBe("application/problem+json")
          const ready = yield* readiness(rig.url)
          expect(ready).toMatchObject({ status: 503, retryAfter: "5", unavailable: ["database"] })
          yield* expectStatus(`${rig.url}/probe/cache/k`, {}, 200)
          yield* Effect.promise(() => rig.database.restore())
          yield* eventually(expectStatus(`${rig.url}/probe/users`, {}, 200))
          yield* eventually(expectStatus(`${rig.url}/health/ready`, {}, 200))
        }),
      { timeout: 60_000 }
    )

    it.effect(
      "cache down: requests still succeed as misses; the cache serves again once it returns",
      () =>
        Effect.gen(function* () {
          const rig = yield* OutageRig
          const put = (value: string) =>
            raw(`${rig.url}/probe/cache/color`, {
              method: "PUT",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ value })
            })
          expect((yield* put("blue")).status).toBe(204)
          expect((yield* raw(`${rig.url}/probe/cache/color`)).json).toEqual({ value: "blue" })
          yield* Effect.promise(() => rig.cache.cut())
          expect((yield* put("green")).status).toBe(204)
          const miss = yield* raw(`${rig.url}/probe/cache/color`)
          expect(miss.status).toBe(200)
          expect(miss.json).toEqual({ value: null })
          const errors = (yield* raw(`${rig.url}/metrics`)).text.match(/^plinth_cache_errors_total (\d+)/m)
          expect(Number(errors?.[1])).toBeGreaterThanOrEqual(2)
          expect((yield* readiness(rig.url)).unavailable).toEqual(["cache"])
          yield* expectStatus(`${rig.url}/probe/users`, {}, 200)
          yield* Effect.promise(() => rig.cache.restore())
          yield* eventually(
            Effect.gen(function* () {
              yield* put("red")
              const hit = yield* raw(`${rig.url}/probe/cache/color`)
              if ((hit.json as { value: unknown }).value !== "red") return yield* Effect.fail("still missing")
            })
          )
        }),
      { timeout: 60_000 }
    )

    it.effect(
      "broker down: publishing is refused with 503, never silently dropped; accepted events all arrive after it returns",
      () =>
        Effect.gen(function* () {
          const rig = yield* OutageRig
          const publish = (id: string) => raw(`${rig.url}/probe/events/${id}`, { method: "POST" })
          const accepted: Array<string> = []
          for (const id of ["before-1", "before-2"]) {
            if ((yield* publish(id)).status === 204) accepted.push(id)
          }
          yield* Effect.promise(() => rig.broker.cut())
          const refused = yield* publish("during")
          expect(refused.status).toBe(503)
          expect(refused.headers.get("retry-after")).toBe("5")
          expect((yield* readiness(rig.url)).unavailable).toEqual(["queue"])
          yield* Effect.promise(() => rig.broker.restore())
          yield* eventually(
            Effect.flatMap(publish("after"), (response) =>
              response.status === 204 ? Effect.void : Effect.fail(`publish answered ${response.status}`)
            )
          )
          accepted.push("after")
          yield* eventually(
            Effect.flatMap(Ref.get(rig.consumed), (ids) =>
              accepted.every((id) => ids.includes(id)) ? Effect.void : Effect.fail(`consumed only ${ids.join(",")}`)
            )
          )
          const consumed = yield* Ref.get(rig.consumed)
          expect(accepted).toEqual(["before-1", "before-2", "after"])
          // Delivery is at least once: an ack lost with the cut connection redelivers; consumers dedupe by id.
          expect(consumed).not.toContain("during")
          yield* eventually(expectStatus(`${rig.url}/health/ready`, {}, 200))
        }),
      { timeout: 60_000 }
    )
  })
})
