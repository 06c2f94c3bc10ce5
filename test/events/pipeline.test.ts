import { randomUUID } from "node:crypto"
import { afterAll, describe, expect, it, layer } from "@effect/vitest"
import {
  Array as Arr,
  Context,
  Deferred,
  Duration,
  Effect,
  Exit,
  Layer,
  Metric,
  Option,
  Redacted,
  Ref,
  Schedule,
  Scope
} from "effect"
import { type DatabaseNotifications, SqlClient } from "../../src/layers/database.js"
import { makePgliteClient } from "../../src/layers/database/pglite.js"
import { makePostgresClient } from "../../src/layers/database/postgres.js"
import { coreMigrations } from "../../src/layers/migrations/core.js"
import { makeMigrationsLive } from "../../src/layers/migrations/index.js"
import { type ConsumerSpec, type DeliveredMessage, Queue } from "../../src/layers/queue.js"
import { makeQueueAmqp } from "../../src/layers/queue/amqp.js"
import { QueueMemory } from "../../src/layers/queue/memory.js"
import type { EventType } from "../../src/services/events/schema.js"
import { eventConsumer } from "../../src/services/events/consumer.js"
import { DeadLetters } from "../../src/services/events/dead-letters.js"
import { Events, type NewEvent, type PreparedEvent, uuidV7 } from "../../src/services/events/events.js"
import {
  eventsConsumed,
  eventsDeadLettered,
  eventsPublished,
  eventsRetried,
  outboxLagSeconds,
  outboxPending
} from "../../src/services/events/metrics.js"
import { eventsMigrations } from "../../src/services/events/migrations.js"
import { makeOutboxRelay, type RelayOptions } from "../../src/services/events/relay.js"
import { makeWriteBatches } from "../../src/services/write-batches.js"
import { deleteAmqpTopology } from "../support/amqp.js"
import { freshPostgresDatabase } from "../support/postgres.js"
import { serviceUrl } from "../support/services.js"
import { tempDir } from "../support/settings.js"
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js"

const postgresUrl = serviceUrl("TEST_DATABASE_URL")
const amqpUrl = serviceUrl("TEST_AMQP_URL")
const exchange = `plinth.test.${randomUUID().slice(0, 8)}`
const retryBaseDelay = Duration.millis(20)
/** Every consumer the suite declares, with its maxAttempts, so that its queues can be deleted afterwards. */
const consumers = { "round-trip": 5, flaky: 5, poison: 3, crash: 5, outage: 5, relays: 5, lease: 5 } as const
type ConsumerName = keyof typeof consumers

/** The link to the broker, which a test may cut; none for the in-process queue. */
class Broker extends Context.Tag("test/Broker")<Broker, Option.Option<TcpProxy>>() {}

const migrations = {
  ...coreMigrations,
  ...eventsMigrations,
  "9001_test_effects": Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql`create table effects (consumer text not null, event_id uuid not null)`
  )
}

type Infrastructure = Layer.Layer<SqlClient.SqlClient | DatabaseNotifications | Queue | Broker, unknown>

const backends: ReadonlyArray<{ readonly name: string; readonly infrastructure: Infrastructure }> = [
  {
    name: "PGlite and the in-process queue",
    infrastructure: Layer.mergeAll(
      makePgliteClient(tempDir("events")),
      QueueMemory,
      Layer.succeed(Broker, Option.none())
    )
  },
  ...(postgresUrl === undefined || amqpUrl === undefined
    ? []
    : [
        {
          name: "PostgreSQL and RabbitMQ",
          infrastructure: Layer.unwrapScoped(
            Effect.gen(function* () {
              const database = yield* freshPostgresDatabase(postgresUrl)
              const target = new URL(amqpUrl)
              const proxy = yield* Effect.acquireRelease(
                Effect.promise(() => startTcpProxy(target.hostname, Number(target.port || 5672))),
                (proxy) => Effect.promise(() => proxy.close())
              )
              const proxied = new URL(target)
              proxied.port = String(proxy.port)
              return Layer.mergeAll(
                makePostgresClient({ url: Redacted.make(database), maxConnections: 8 }),
                makeQueueAmqp(Redacted.make(proxied.toString()), { exchange }),
                Layer.succeed(Broker, Option.some(proxy))
              )
            })
          )
        }
      ])
]

afterAll(async () => {
  if (postgresUrl !== undefined && amqpUrl !== undefined) {
    await deleteAmqpTopology(amqpUrl, exchange, consumers, retryBaseDelay)
  }
})

/** Polls until `done` holds, for at most `seconds`. */
const waitFor = <A, E, R>(read: Effect.Effect<A, E, R>, done: (value: A) => boolean, what: string, seconds = 20) =>
  read.pipe(
    Effect.filterOrFail(done, () => new Error(`timed out waiting for ${what}`)),
    Effect.retry({ schedule: Schedule.spaced("50 millis"), times: seconds * 20 })
  )

const within = <A, E, R>(effect: Effect.Effect<A, E, R>, what: string) =>
  Effect.timeoutFail(effect, { duration: "15 seconds", onTimeout: () => new Error(`timed out waiting for ${what}`) })

const record = (events: ReadonlyArray<NewEvent>, concurrency = 1) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const recorder = yield* Events
    yield* Effect.forEach(events, (event) => sql.withTransaction(recorder.record(event)), {
      concurrency,
      discard: true
    })
  })

const outboxIds = (type: EventType) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(sql<{ id: string }>`select id from outbox where type = ${type} order by occurred_at`, (rows) =>
      rows.map((row) => row.id)
    )
  )

const unpublished = (type: EventType) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql<{ total: number }>`select count(*)::int as total from outbox where type = ${type} and published_at is null`,
      ([row]) => row?.total ?? 0
    )
  )

const effectsOf = (consumer: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql<{ total: number; uniqueEvents: number }>`
        select count(*)::int as total, count(distinct event_id)::int as unique_events
        from effects where consumer = ${consumer}`,
      ([row]) => ({ total: row?.total ?? 0, uniqueEvents: row?.uniqueEvents ?? 0 })
    )
  )

const counterOf = (counter: typeof eventsConsumed, tag: string, value: string) =>
  Effect.map(Metric.value(Metric.tagged(counter, tag, value)), (state) => state.count)

/** A consumer's counters; the backends share the process's metrics, so tests compare before and after. */
const countsOf = (consumer: ConsumerName) =>
  Effect.all({
    consumed: counterOf(eventsConsumed, "consumer", consumer),
    retried: counterOf(eventsRetried, "consumer", consumer),
    deadLettered: counterOf(eventsDeadLettered, "consumer", consumer)
  })

const countedSince = (consumer: ConsumerName, before: Effect.Effect.Success<ReturnType<typeof countsOf>>) =>
  Effect.map(countsOf(consumer), (now) => ({
    consumed: now.consumed - before.consumed,
    retried: now.retried - before.retried,
    deadLettered: now.deadLettered - before.deadLettered
  }))

/** A consumer whose effect is a row in `effects`, then whatever `after` does in the same transaction. */
const counting = <const Tag extends EventType>(
  name: ConsumerName,
  events: ReadonlyArray<Tag>,
  after: Effect.Effect<void, Error> = Effect.void
) =>
  eventConsumer({
    name,
    events,
    maxAttempts: consumers[name],
    retryBaseDelay,
    handle: (event) =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`insert into effects (consumer, event_id) values (${name}, ${event.id})`
        yield* after
      })
  })

const consume = <R>(spec: ConsumerSpec<R>) => Effect.flatMap(Queue, (queue) => queue.consume(spec))

const startRelay = (options: Partial<RelayOptions> = {}) => Layer.build(makeOutboxRelay(options))

const projectCreated = (): NewEvent => ({
  _tag: "project.created",
  actor: randomUUID(),
  payload: { projectId: randomUUID(), ownerId: randomUUID(), name: "Apollo" }
})

const fileUploaded = (): NewEvent => ({
  _tag: "file.uploaded",
  actor: null,
  payload: { fileId: randomUUID(), projectId: randomUUID(), size: 3, contentType: "text/plain" }
})

for (const backend of backends) {
  const Rig = Layer.mergeAll(Events.layer, DeadLetters.layer).pipe(
    Layer.provideMerge(makeMigrationsLive(migrations)),
    Layer.provideMerge(backend.infrastructure)
  )

  layer(Rig, { excludeTestServices: true, timeout: "60 seconds" })(`Events: ${backend.name}`, (it) => {
    it.scoped("delivers committed events once, woken by NOTIFY, and never a rolled-back one", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const recorder = yield* Events
        const publishedBefore = yield* counterOf(eventsPublished, "type", "project.created")
        const before = yield* countsOf("round-trip")
        yield* consume(counting("round-trip", ["project.created"]))
        // Only a notification can wake this relay within the test once its first look at the outbox is done.
        yield* startRelay({ pollInterval: "1 minute" })

        yield* record([projectCreated()])
        yield* waitFor(effectsOf("round-trip"), (effects) => effects.total === 1, "the first event", 10)
        yield* sql
          .withTransaction(Effect.zipRight(recorder.record(projectCreated()), Effect.fail("abort")))
          .pipe(Effect.ignore)
        yield* record([projectCreated()])
        yield* waitFor(effectsOf("round-trip"), (effects) => effects.total === 2, "the second event", 10)

        yield* Effect.sleep("300 millis")
        const ids = yield* outboxIds("project.created")
        expect(ids).toHaveLength(2)
        const delivered = yield* sql<{ eventId: string }>`
          select event_id from effects where consumer = 'round-trip' order by event_id`
        expect(delivered.map((row) => row.eventId)).toEqual([...ids].sort())
        expect(yield* unpublished("project.created")).toBe(0)
        expect((yield* counterOf(eventsPublished, "type", "project.created")) - publishedBefore).toBe(2)
        expect(yield* countedSince("round-trip", before)).toEqual({ consumed: 2, retried: 0, deadLettered: 0 })
      })
    )

    it.scoped("writes a change and its event in one statement: both or neither", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const recorder = yield* Events
        const eventsOfProject = (projectId: string) =>
          sql<{ type: string; payload: unknown }>`
            select type, payload from outbox where payload -> 'payload' ->> 'projectId' = ${projectId}`
        const change = { consumer: "one-statement", eventId: randomUUID() }
        const projectId = randomUUID()
        const event = yield* recorder.prepare({
          _tag: "project.created",
          actor: null,
          payload: { projectId, ownerId: randomUUID(), name: "Apollo" }
        })
        const rows = yield* recorder.recordAllWith(sql`insert into effects ${sql.insert(change)} returning *`, [event])
        expect(rows).toEqual([change])
        const [recorded] = yield* eventsOfProject(projectId)
        expect(recorded?.type).toBe("project.created")
        expect(recorded?.payload).toMatchObject({ _tag: "project.created", payload: { projectId, name: "Apollo" } })

        // The change breaks a constraint (consumer is not null): the statement fails and leaves no event.
        const refusedProjectId = randomUUID()
        const refusedEvent = yield* recorder.prepare({
          _tag: "project.created",
          actor: null,
          payload: { projectId: refusedProjectId, ownerId: randomUUID(), name: "Apollo" }
        })
        const refused = yield* Effect.exit(
          recorder.recordAllWith(sql`insert into effects ${sql.insert({ consumer: null, eventId: randomUUID() })}`, [
            refusedEvent
          ])
        )
        expect(Exit.isFailure(refused)).toBe(true)
        expect(yield* eventsOfProject(refusedProjectId)).toEqual([])
      })
    )

    it.scoped("writes concurrent changes in batches, each with its event, and a bad change fails alone", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const recorder = yield* Events
        const batchSizes = yield* Ref.make<ReadonlyArray<number>>([])
        interface Change {
          readonly row: { readonly consumer: string | null; readonly eventId: string }
          readonly event: PreparedEvent
        }
        const write = yield* makeWriteBatches({
          write: (changes: Arr.NonEmptyReadonlyArray<Change>) =>
            Effect.zipRight(
              Ref.update(batchSizes, (sizes) => [...sizes, changes.length]),
              Effect.map(
                recorder.recordAllWith(
                  sql<{ consumer: string; eventId: string }>`
                    insert into effects ${sql.insert(changes.map((change) => change.row))} returning *`,
                  Arr.map(changes, (change) => change.event)
                ),
                (rows) => changes.map((change) => rows.find((row) => row.eventId === change.row.eventId))
              )
            ),
          maxBatchSize: 100,
          spanName: "test.batch"
        })
        const changes = yield* Effect.forEach(Arr.range(0, 9), (i) =>
          Effect.map(
            recorder.prepare({
              _tag: "project.created",
              actor: null,
              payload: { projectId: randomUUID(), ownerId: randomUUID(), name: `Batched ${i}` }
            }),
            // The fourth change breaks a constraint (consumer is not null).
            (event): Change => ({ row: { consumer: i === 3 ? null : "batched", eventId: randomUUID() }, event })
          )
        )
        const exits = yield* Effect.forEach(changes, (change) => Effect.exit(write(change)), {
          concurrency: "unbounded"
        })

        exits.forEach((exit, i) => {
          if (i === 3) expect(Exit.isFailure(exit)).toBe(true)
          else expect(exit).toEqual(Exit.succeed({ consumer: "batched", eventId: changes[i]!.row.eventId }))
        })
        const accepted = changes.filter((_, i) => i !== 3)
        // All ten in one statement, which failed; then each alone.
        expect(yield* Ref.get(batchSizes)).toEqual([10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])
        const written = yield* sql<{ eventId: string }>`
          select event_id from effects where event_id in ${sql.in(changes.map((change) => change.row.eventId))}`
        expect(written.map((row) => row.eventId).sort()).toEqual(accepted.map((change) => change.row.eventId).sort())
        const recorded = yield* sql<{ id: string }>`
          select id from outbox where id in ${sql.in(changes.map((change) => change.event.id))}`
        expect(recorded.map((row) => row.id).sort()).toEqual(accepted.map((change) => change.event.id).sort())
      })
    )

    it.scoped("runs the effect of a consumer that fails twice and then succeeds once", () =>
      Effect.gen(function* () {
        const before = yield* countsOf("flaky")
        const attempts = yield* Ref.make(0)
        const failTwice = Effect.flatMap(
          Ref.updateAndGet(attempts, (n) => n + 1),
          (attempt) => (attempt <= 2 ? Effect.fail(new Error(`not yet (attempt ${attempt})`)) : Effect.void)
        )
        yield* consume(counting("flaky", ["project.updated"], failTwice))
        yield* startRelay()
        yield* record([
          {
            _tag: "project.updated",
            actor: null,
            payload: { projectId: randomUUID(), ownerId: randomUUID(), changed: ["name"] }
          }
        ])

        yield* waitFor(effectsOf("flaky"), (effects) => effects.total === 1, "the third attempt")
        yield* Effect.sleep("300 millis")
        expect(yield* Ref.get(attempts)).toBe(3)
        expect(yield* effectsOf("flaky")).toEqual({ total: 1, uniqueEvents: 1 })
        expect(yield* countedSince("flaky", before)).toEqual({ consumed: 1, retried: 2, deadLettered: 0 })
      })
    )

    it.scoped("dead-letters a poison event after its last attempt and replays it once healed", () =>
      Effect.gen(function* () {
        const deadLetters = yield* DeadLetters
        const before = yield* countsOf("poison")
        const healed = yield* Ref.make(false)
        const buggy = Effect.flatMap(Ref.get(healed), (ok) =>
          ok ? Effect.void : Effect.fail(new Error("handler bug"))
        )
        yield* consume(counting("poison", ["project.deleted"], buggy))
        yield* startRelay()
        yield* record([
          { _tag: "project.deleted", actor: null, payload: { projectId: randomUUID(), ownerId: randomUUID() } }
        ])
        const [id] = yield* outboxIds("project.deleted")

        const letters = yield* waitFor(deadLetters.list("poison"), (letters) => letters.length === 1, "a dead letter")
        expect(letters[0]).toMatchObject({ id, consumer: "poison", routingKey: "project.deleted", attempts: 3 })
        expect(letters[0]?.lastError).toContain("handler bug")
        expect(JSON.parse(letters[0]?.body ?? "{}")).toMatchObject({ _tag: "project.deleted", id, version: 1 })
        expect(yield* effectsOf("poison")).toEqual({ total: 0, uniqueEvents: 0 })
        expect(yield* countedSince("poison", before)).toEqual({ consumed: 0, retried: 2, deadLettered: 1 })

        yield* Ref.set(healed, true)
        yield* deadLetters.replay("poison", id ?? "")
        yield* waitFor(effectsOf("poison"), (effects) => effects.total === 1, "the replayed event")
        expect(yield* deadLetters.list("poison")).toEqual([])
        expect((yield* Effect.flip(deadLetters.replay("poison", id ?? "")))._tag).toBe("NotFound")
        expect(yield* countedSince("poison", before)).toEqual({ consumed: 1, retried: 2, deadLettered: 1 })
      })
    )

    it.scoped("refuses what it cannot read: an unknown version or a body that is not an event", () =>
      Effect.gen(function* () {
        const queue = yield* Queue
        const deadLetters = yield* DeadLetters
        const effectsBefore = yield* effectsOf("poison")
        yield* consume(counting("poison", ["project.deleted"]))
        const newer = JSON.stringify({
          _tag: "project.deleted",
          id: randomUUID(),
          occurredAt: new Date().toISOString(),
          actor: null,
          version: 2,
          payload: { projectId: randomUUID(), ownerId: randomUUID() }
        })
        yield* queue.publish({ id: "newer-version", routingKey: "project.deleted", body: newer })
        yield* queue.publish({ id: "not-an-event", routingKey: "project.deleted", body: "<html>" })

        const letters = yield* waitFor(
          deadLetters.list("poison"),
          (letters) => letters.length === 2,
          "two refused deliveries"
        )
        const reasons = Object.fromEntries(letters.map((letter) => [letter.id, letter.lastError]))
        expect(reasons["newer-version"]).toContain("version 2 of project.deleted is unknown")
        expect(reasons["not-an-event"]).toContain("the body is not an event")
        expect(yield* effectsOf("poison")).toEqual(effectsBefore)
      })
    )

    it.scoped("does not repeat the effect of an event redelivered after a worker died before acknowledging", () =>
      Effect.gen(function* () {
        const broker = yield* Broker
        const before = yield* countsOf("crash")
        const spec = counting("crash", ["file.deleted"])
        const committed = yield* Deferred.make<DeliveredMessage>()
        const doomedWorker = yield* Scope.make()
        yield* consume({
          ...spec,
          handle: (message) =>
            spec
              .handle(message)
              .pipe(Effect.zipRight(Deferred.succeed(committed, message)), Effect.zipRight(Effect.never))
        }).pipe(Scope.extend(doomedWorker))
        yield* startRelay()
        yield* record([
          { _tag: "file.deleted", actor: null, payload: { fileId: randomUUID(), projectId: randomUUID() } }
        ])
        const first = yield* within(Deferred.await(committed), "the first delivery to commit")
        expect(yield* effectsOf("crash")).toEqual({ total: 1, uniqueEvents: 1 })

        yield* Scope.close(doomedWorker, Exit.void)
        const redelivered = yield* Option.match(broker, {
          // The in-process queue's messages die with the process, so the redelivery is handed over directly.
          onNone: () => Effect.as(spec.handle(first), first.id),
          onSome: () =>
            Effect.gen(function* () {
              const again = yield* Deferred.make<string>()
              yield* consume({
                ...spec,
                handle: (message) => spec.handle(message).pipe(Effect.zipRight(Deferred.succeed(again, message.id)))
              })
              return yield* within(Deferred.await(again), "the redelivery")
            })
        })
        expect(redelivered).toBe(first.id)
        expect(yield* effectsOf("crash")).toEqual({ total: 1, uniqueEvents: 1 })
        expect(yield* countedSince("crash", before)).toEqual({ consumed: 1, retried: 0, deadLettered: 0 })
      })
    )

    it.scoped(
      "loses nothing while the broker is unreachable: 1,000 committed events wait, then arrive exactly once",
      () =>
        Effect.gen(function* () {
          const broker = yield* Broker
          yield* consume(counting("outage", ["file.uploaded"]))
          const events = Array.from({ length: 1_000 }, fileUploaded)
          yield* Option.match(broker, {
            // In-process there is no broker to lose: the worker that relays is not running yet.
            onNone: () => record(events, 10),
            onSome: (proxy) =>
              Effect.gen(function* () {
                yield* startRelay()
                yield* Effect.promise(() => proxy.cut())
                yield* record(events, 10)
                yield* waitFor(Metric.value(outboxLagSeconds), (lag) => lag.value > 0, "the relay lag to show")
                yield* waitFor(Metric.value(outboxPending), (pending) => pending.value === 1_000, "the backlog")
              })
          })
          yield* Effect.sleep("1 second")
          expect(yield* unpublished("file.uploaded")).toBe(1_000)
          expect(yield* effectsOf("outage")).toEqual({ total: 0, uniqueEvents: 0 })

          yield* Option.match(broker, {
            onNone: () => startRelay(),
            onSome: (proxy) => Effect.promise(() => proxy.restore())
          })
          yield* waitFor(effectsOf("outage"), (effects) => effects.total >= 1_000, "1,000 effects", 60)
          yield* Effect.sleep("1 second")
          expect(yield* effectsOf("outage")).toEqual({ total: 1_000, uniqueEvents: 1_000 })
          expect(yield* unpublished("file.uploaded")).toBe(0)
        }),
      { timeout: 120_000 }
    )

    it.scoped("shares the outbox among several relays, publishing each event once", () =>
      Effect.gen(function* () {
        const delivered = yield* Ref.make<ReadonlyArray<string>>([])
        yield* consume({
          name: "relays",
          routingKeys: ["user.registered"],
          handle: (message) => Ref.update(delivered, (ids) => [...ids, message.id])
        })
        yield* startRelay({ batchSize: 10 })
        yield* startRelay({ batchSize: 10 })
        yield* record(
          Array.from({ length: 300 }, (_, n) => ({
            _tag: "user.registered" as const,
            actor: null,
            payload: { userId: randomUUID(), email: `user${n}@example.com` }
          })),
          10
        )
        yield* waitFor(Ref.get(delivered), (ids) => ids.length >= 300, "300 deliveries")
        yield* Effect.sleep("500 millis")
        const ids = yield* Ref.get(delivered)
        expect(ids).toHaveLength(300)
        expect(new Set(ids).size).toBe(300)
      })
    )

    it.scoped("publishes the rows a dead relay had claimed once its lease runs out", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* consume(counting("lease", ["user.role_changed"]))
        yield* record([
          { _tag: "user.role_changed", actor: null, payload: { userId: randomUUID(), from: "user", to: "admin" } }
        ])
        yield* sql`update outbox set claimed_until = now() + interval '1500 milliseconds', attempts = attempts + 1
          where type = 'user.role_changed'`
        yield* startRelay({ pollInterval: "100 millis" })
        yield* Effect.sleep("700 millis")
        expect(yield* effectsOf("lease")).toEqual({ total: 0, uniqueEvents: 0 })
        yield* waitFor(effectsOf("lease"), (effects) => effects.total === 1, "the lease to run out", 5)
      })
    )

    it.scoped("forgets published rows and idempotency records after the retention", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const [old, recent] = [randomUUID(), randomUUID()]
        for (const [id, age] of [
          [old, "8 days"],
          [recent, "1 day"]
        ] as const) {
          yield* sql`insert into outbox (id, type, routing_key, payload, occurred_at, published_at)
            values (${id}, 'retention.test', 'retention.test', '{}', now() - ${age}::interval, now() - ${age}::interval)`
          yield* sql`insert into processed_events (consumer, event_id, processed_at)
            values ('retention', ${id}, now() - ${age}::interval)`
        }
        yield* startRelay({ retention: "7 days" })
        const left = sql<{ id: string }>`
          select id from outbox where type = 'retention.test'
          union all select event_id as id from processed_events where consumer = 'retention'`
        const ids = yield* waitFor(left, (rows) => rows.length === 2, "the old rows to go")
        expect(ids.map((r) => r.id)).toEqual([recent, recent])
      })
    )
  })
}

describe("uuidV7", () => {
  it("makes version 7 ids that sort by their millisecond and never repeat", () => {
    const at = Date.UTC(2026, 11, 5, 8, 0, 0)
    const ids = [at, at + 1, at + 1, at + 60_000].map((time) => uuidV7(time))
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(ids[0]!.replace(/-/g, "").slice(0, 12)).toBe(at.toString(16).padStart(12, "0"))
    expect([ids[3], ids[0], ids[2], ids[1]].sort().map((id) => id!.slice(0, 13))).toEqual(
      ids.map((id) => id.slice(0, 13))
    )
    expect(new Set(Array.from({ length: 10_000 }, () => uuidV7(at))).size).toBe(10_000)
  })
})
