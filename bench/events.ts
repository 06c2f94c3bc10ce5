/**
 * The events pipeline end to end, in this process: a transaction records an event, the relay publishes it
 * and a consumer commits its work. Measured from each commit to the consumer's commit.
 */
import { randomUUID } from "node:crypto"
import { rmSync } from "node:fs"
import { connect } from "amqplib"
import { Effect, Layer, Logger, LogLevel, Redacted } from "effect"
import { type DatabaseNotifications, SqlClient } from "../src/layers/database.js"
import { makePgliteClient } from "../src/layers/database/pglite.js"
import { makePostgresClient } from "../src/layers/database/postgres.js"
import { coreMigrations } from "../src/layers/migrations/core.js"
import { makeMigrationsLive } from "../src/layers/migrations/index.js"
import { Queue } from "../src/layers/queue.js"
import { makeQueueAmqp } from "../src/layers/queue/amqp.js"
import { QueueMemory } from "../src/layers/queue/memory.js"
import { eventConsumer } from "../src/services/events/consumer.js"
import { Events } from "../src/services/events/events.js"
import { eventsMigrations } from "../src/services/events/migrations.js"
import { OutboxRelayLive } from "../src/services/events/relay.js"
import { freshDatabase, median, newDataDir, realBackends } from "./support.js"

const RUNS = 3
const BURST = 2_000
const PRODUCERS = 8
const PACED = 200
const PACE_MS = 10
const CONSUMER = "bench-events"

interface Backend {
  readonly label: string
  readonly infrastructure: Layer.Layer<SqlClient.SqlClient | DatabaseNotifications | Queue, unknown>
  readonly cleanup: () => Promise<void>
}

interface RunResult {
  readonly perSecond: number
  readonly burstLatency: number
  readonly pacedLatency: number
  readonly pacedP99: number
}

const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const measure = (backend: Backend) =>
  Effect.gen(function* () {
    const committed = new Map<string, number>()
    const consumed = new Map<string, number>()
    const spec = eventConsumer({ name: CONSUMER, events: ["project.created"], handle: () => Effect.void })
    const queue = yield* Queue
    yield* queue.consume({
      ...spec,
      handle: (message) =>
        spec.handle(message).pipe(
          Effect.tap(() =>
            Effect.sync(() => {
              const event = JSON.parse(message.body) as { readonly payload: { readonly projectId: string } }
              consumed.set(event.payload.projectId, performance.now())
            })
          )
        )
    })
    yield* Layer.build(OutboxRelayLive)

    const sql = yield* SqlClient.SqlClient
    const events = yield* Events
    const recordOne = Effect.gen(function* () {
      const projectId = randomUUID()
      yield* sql.withTransaction(
        events.record({ _tag: "project.created", actor: null, payload: { projectId, ownerId: projectId, name: "b" } })
      )
      committed.set(projectId, performance.now())
      return projectId
    })
    const latencies = (ids: ReadonlyArray<string>) => ids.map((id) => consumed.get(id)! - committed.get(id)!)
    const allConsumed = (ids: ReadonlyArray<string>) =>
      Effect.promise(async () => {
        while (!ids.every((id) => consumed.has(id))) await sleep(2)
      })

    const results: Array<RunResult> = []
    for (let run = 0; run < RUNS; run++) {
      const started = performance.now()
      const burst = yield* Effect.replicateEffect(recordOne, BURST, { concurrency: PRODUCERS })
      yield* allConsumed(burst)
      const finished = Math.max(...burst.map((id) => consumed.get(id)!))

      const paced: Array<string> = []
      for (let n = 0; n < PACED; n++) {
        paced.push(yield* recordOne)
        yield* Effect.promise(() => sleep(PACE_MS))
      }
      yield* allConsumed(paced)
      results.push({
        perSecond: BURST / ((finished - started) / 1000),
        burstLatency: median(latencies(burst)),
        pacedLatency: median(latencies(paced)),
        pacedP99: percentile(latencies(paced), 99)
      })
    }
    return results
  }).pipe(
    Effect.scoped,
    Effect.provide(
      Layer.merge(Events.layer, makeMigrationsLive({ ...coreMigrations, ...eventsMigrations })).pipe(
        Layer.provideMerge(backend.infrastructure)
      )
    ),
    Effect.provide(Logger.minimumLogLevel(LogLevel.Warning))
  )

const embedded = (): Backend => {
  const dataDir = newDataDir()
  return {
    label: "in-process (PGlite, in-process queue)",
    infrastructure: Layer.merge(makePgliteClient(dataDir), QueueMemory),
    cleanup: async () => rmSync(dataDir, { recursive: true, force: true })
  }
}

const real = async (databaseUrl: string, amqpUrl: string): Promise<Backend> => {
  const database = await freshDatabase(databaseUrl)
  const exchange = `plinth.bench.${randomUUID().slice(0, 8)}`
  return {
    label: "PostgreSQL + RabbitMQ",
    infrastructure: Layer.merge(
      makePostgresClient({ url: Redacted.make(database.url), maxConnections: 10 }),
      makeQueueAmqp(Redacted.make(amqpUrl), { exchange })
    ),
    cleanup: async () => {
      await database.drop()
      const connection = await connect(amqpUrl)
      const channel = await connection.createChannel()
      const queue = `${exchange}.${CONSUMER}`
      const retries = [1000, 2000, 4000, 8000].map((ms) => `${queue}.retry.${ms}ms`)
      for (const name of [queue, `${queue}.dead`, ...retries]) await channel.deleteQueue(name)
      await channel.deleteExchange(exchange)
      await connection.close()
    }
  }
}

export const events = async () => {
  const { database, amqp } = realBackends()
  const backends = [embedded, ...(database === undefined || amqp === undefined ? [] : [() => real(database, amqp)])]
  console.log(
    `\n## Events, commit to consumer done (${RUNS} runs, medians; a burst of ${BURST.toLocaleString("en")} ` +
      `from ${PRODUCERS} producers, then ${PACED} events at ${1000 / PACE_MS}/s)\n`
  )
  console.log("| backend | events/s, burst | median latency, burst | median latency, paced | p99, paced |")
  console.log("| --- | --- | --- | --- | --- |")
  for (const make of backends) {
    const backend = await make()
    try {
      const runs = await Effect.runPromise(measure(backend))
      const of = (pick: (run: RunResult) => number) => median(runs.map(pick))
      console.log(
        `| ${backend.label} | ${of((r) => r.perSecond).toFixed(0)} | ${of((r) => r.burstLatency).toFixed(1)} ms | ` +
          `${of((r) => r.pacedLatency).toFixed(1)} ms | ${of((r) => r.pacedP99).toFixed(1)} ms |`
      )
    } finally {
      await backend.cleanup()
    }
  }
}
