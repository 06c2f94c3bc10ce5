import type { SqlError } from "@effect/sql/SqlError"
import {
  Cause,
  Clock,
  Deferred,
  Duration,
  Effect,
  Either,
  Exit,
  Layer,
  Metric,
  Option,
  Queue as Wakeups,
  Ref,
  Schedule,
  Stream
} from "effect"
import { DatabaseNotifications, SqlClient } from "../../layers/database.js"
import { Queue, type QueueUnavailable } from "../../layers/queue.js"
import { parentFromTraceparent } from "../../layers/telemetry.js"
import { eventsPublished, outboxLagSeconds, outboxPending } from "./metrics.js"
import { OUTBOX_CHANNEL } from "./migrations.js"

export interface RelayOptions {
  /** Rows claimed and published at once. */
  readonly batchSize: number
  /** The longest wait for a notification before looking at the outbox anyway. */
  readonly pollInterval: Duration.DurationInput
  /**
   * The shortest time from one claim to the next. Events committed meanwhile go out in one batch, so under
   * load the batches grow rather than the statements per event; on a quiet outbox an event waits none of it.
   */
  readonly claimSpacing: Duration.DurationInput
  /** How long claimed rows stay out of other relays' reach; only a relay that died mid-batch lets it run out. */
  readonly lease: Duration.DurationInput
  /** How long published outbox rows and consumers' idempotency records are kept. */
  readonly retention: Duration.DurationInput
}

const defaults: RelayOptions = {
  batchSize: 100,
  pollInterval: "1 second",
  claimSpacing: "10 millis",
  lease: "30 seconds",
  retention: "7 days"
}

const pruneBatch = 1_000
const measureEvery = "5 seconds"
/** How long start-up waits for LISTEN before relaying anyway; the poll covers until it listens. */
const listenWait = "5 seconds"
const pruneEvery = "1 hour"

const backoff = (cap: Duration.DurationInput) =>
  Schedule.exponential("100 millis").pipe(Schedule.union(Schedule.spaced(cap)), Schedule.jittered)

const reasonOf = (cause: Cause.Cause<SqlError | QueueUnavailable>) =>
  Option.match(Cause.failureOption(cause), {
    onNone: () => Cause.pretty(cause),
    onSome: (error) => (error._tag === "QueueUnavailable" ? error.reason : error.message)
  })

interface OutboxRow {
  readonly id: string
  readonly routingKey: string
  readonly body: string
  readonly traceParent: string | null
}

/**
 * Publishes committed outbox rows to the queue. Rows are claimed with a lease in one short statement and
 * marked published once the broker has confirmed them, so no database connection (PGlite's only session
 * included) is held while the broker answers. Several relays may run at once: `SKIP LOCKED` and the lease
 * give each row to one of them. A row whose publishing fails is released and retried with backoff; it is
 * never dropped.
 */
export const makeOutboxRelay = (overrides: Partial<RelayOptions> = {}) =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const options = { ...defaults, ...overrides }
      const sql = yield* SqlClient.SqlClient
      const queue = yield* Queue
      const notifications = yield* DatabaseNotifications
      const wake = yield* Wakeups.sliding<void>(1)
      const listening = yield* Deferred.make<void>()
      const degraded = yield* Ref.make(false)
      const deaf = yield* Ref.make(false)

      const claim = sql<OutboxRow>`
        update outbox
        set claimed_until = now() + make_interval(secs => ${Duration.toSeconds(options.lease)}),
            attempts = attempts + 1
        where id in (
          select id from outbox
          where published_at is null and (claimed_until is null or claimed_until < now())
          order by occurred_at
          limit ${options.batchSize}
          for update skip locked
        )
        returning id, routing_key, payload::text as body, trace_parent`

      const markPublished = (rows: ReadonlyArray<OutboxRow>) =>
        Effect.gen(function* () {
          yield* sql`update outbox set published_at = now(), claimed_until = null
            where id in ${sql.in(rows.map((row) => row.id))}`
          const byType = new Map<string, number>()
          for (const row of rows) byType.set(row.routingKey, (byType.get(row.routingKey) ?? 0) + 1)
          for (const [type, count] of byType) {
            yield* Metric.incrementBy(Metric.tagged(eventsPublished, "type", type), count)
          }
        })

      const release = (rows: ReadonlyArray<OutboxRow>) =>
        sql`update outbox set claimed_until = null
          where id in ${sql.in(rows.map((row) => row.id))} and published_at is null`.pipe(
          Effect.catchAllCause((cause) =>
            Effect.logWarning("Outbox relay: cannot release claimed rows; they return when the lease ends", cause)
          )
        )

      const relayBatch = Effect.acquireUseRelease(
        claim,
        (rows) =>
          Effect.gen(function* () {
            const outcomes = yield* Effect.forEach(
              rows,
              (row) =>
                Effect.either(queue.publish({ id: row.id, routingKey: row.routingKey, body: row.body })).pipe(
                  Effect.map((outcome) => ({ row, outcome })),
                  Effect.withSpan("OutboxRelay.publish", {
                    attributes: { eventId: row.id, routingKey: row.routingKey },
                    ...Option.match(parentFromTraceparent(row.traceParent ?? undefined), {
                      onNone: () => ({}),
                      onSome: (parent) => ({ parent })
                    })
                  })
                ),
              { concurrency: "unbounded" }
            )
            const published = outcomes.flatMap(({ row, outcome }) => (Either.isRight(outcome) ? [row] : []))
            if (published.length > 0) yield* markPublished(published)
            for (const { outcome } of outcomes) if (Either.isLeft(outcome)) return yield* outcome.left
            return rows.length
          }),
        (rows, exit) => (Exit.isSuccess(exit) || rows.length === 0 ? Effect.void : release(rows))
      ).pipe(Effect.withSpan("OutboxRelay.relayBatch"))

      const lastClaim = yield* Ref.make(0)
      const spaceClaims = Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const wait = (yield* Ref.get(lastClaim)) + Duration.toMillis(options.claimSpacing) - now
        if (wait > 0) yield* Effect.sleep(Duration.millis(wait))
        yield* Ref.set(lastClaim, now + Math.max(0, wait))
      })

      const relayOnce = Effect.gen(function* () {
        // While the broker is away, claiming rows only to release them again is wasted work.
        if (yield* Ref.get(degraded)) yield* queue.ping
        yield* spaceClaims
        const relayed = yield* relayBatch
        if (yield* Ref.getAndSet(degraded, false)) yield* Effect.logInfo("Outbox relay: publishing again")
        if (relayed < options.batchSize) yield* Effect.timeoutOption(Wakeups.take(wake), options.pollInterval)
      })

      const listenOnce = Effect.gen(function* () {
        const notified = yield* notifications.listen(OUTBOX_CHANNEL)
        yield* Deferred.succeed(listening, undefined)
        if (yield* Ref.getAndSet(deaf, false)) yield* Effect.logInfo("Outbox relay: listening for new events again")
        // Whatever committed while nobody listened is picked up at once.
        yield* Wakeups.offer(wake, undefined)
        yield* Stream.runForEach(notified, () => Wakeups.offer(wake, undefined))
      }).pipe(Effect.scoped)

      yield* listenOnce.pipe(
        Effect.tapError((error) =>
          Effect.zipRight(
            Deferred.succeed(listening, undefined),
            Effect.flatMap(Ref.getAndSet(deaf, true), (already) =>
              already
                ? Effect.void
                : Effect.logWarning("Outbox relay: not listening for new events; polling until it can", error.message)
            )
          )
        ),
        Effect.retry(backoff("10 seconds")),
        Effect.forever,
        Effect.forkScoped
      )
      const relayForever = relayOnce.pipe(
        Effect.sandbox,
        Effect.tapError((cause) =>
          Effect.flatMap(Ref.getAndSet(degraded, true), (already) =>
            already
              ? Effect.void
              : Effect.logWarning("Outbox relay: cannot publish; events stay in the outbox and are retried").pipe(
                  Effect.annotateLogs("reason", reasonOf(cause))
                )
          )
        ),
        Effect.retry(backoff("1 second")),
        Effect.forever
      )
      // The wait for LISTEN happens in the relay's own fiber, so it never holds up start-up and readiness.
      yield* Effect.forkScoped(
        Effect.zipRight(Effect.timeoutOption(Deferred.await(listening), listenWait), relayForever)
      )

      const measure = Effect.gen(function* () {
        const [row] = yield* sql<{ pending: string; oldest: Date | null }>`
          select count(*) as pending, min(occurred_at) as oldest from outbox where published_at is null`
        const now = yield* Clock.currentTimeMillis
        const oldest = row?.oldest ?? null
        yield* Metric.set(outboxPending, Number(row?.pending ?? 0))
        yield* Metric.set(outboxLagSeconds, oldest === null ? 0 : Math.max(0, now - oldest.getTime()) / 1000)
      }).pipe(Effect.withSpan("OutboxRelay.measure"))

      const deleteAll = (batch: Effect.Effect<ReadonlyArray<{ readonly deleted: string }>, unknown>) =>
        batch.pipe(
          Effect.map(([row]) => Number(row?.deleted ?? 0)),
          Effect.repeat({ while: (deleted) => deleted === pruneBatch })
        )

      const prune = Effect.gen(function* () {
        const cutoff = new Date((yield* Clock.currentTimeMillis) - Duration.toMillis(options.retention))
        yield* deleteAll(sql<{ deleted: string }>`
          with gone as (
            delete from outbox where id in (
              select id from outbox where published_at < ${cutoff} limit ${pruneBatch} for update skip locked
            ) returning 1
          ) select count(*) as deleted from gone`)
        yield* deleteAll(sql<{ deleted: string }>`
          with gone as (
            delete from processed_events where (consumer, event_id) in (
              select consumer, event_id from processed_events where processed_at < ${cutoff}
              limit ${pruneBatch} for update skip locked
            ) returning 1
          ) select count(*) as deleted from gone`)
      }).pipe(Effect.withSpan("OutboxRelay.prune"))

      const periodically = (effect: Effect.Effect<void, unknown>, every: Duration.DurationInput) =>
        effect.pipe(
          Effect.catchAllCause((cause) => Effect.logDebug("Outbox relay: housekeeping failed", cause)),
          Effect.repeat(Schedule.spaced(every)),
          Effect.forkScoped
        )

      yield* periodically(measure, measureEvery)
      yield* periodically(prune, pruneEvery)
    })
  )

export const OutboxRelayLive = makeOutboxRelay()
