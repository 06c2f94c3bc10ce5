import { SqlClient } from "@effect/sql"
import { Clock, Context, DateTime, Duration, Effect, Layer, Option, Schedule, Schema } from "effect"
import { createHash } from "node:crypto"
import { ReadReplica } from "../../layers/database.js"
import type { ValidationFailed } from "../../services/errors.js"
import { FieldProblem, ValidationFailed as Invalid } from "../../services/errors.js"
import type { DomainEvent } from "../../services/events/schema.js"
import { AuditEntry, AuditPage, type AuditQuery, BrokenLink, ChainReport } from "./schema.js"
import { GENESIS } from "./migrations.js"
import { canonicalJson, redact } from "./redact.js"

type Json = Record<string, unknown>

/** jsonb columns are read as text: the client would otherwise rename the keys inside them. */
const COLUMNS =
  "seq, event_id, type, actor, project_id, occurred_at, ip, request_id, before::text as before, after::text as after, details::text as details, prev_hash, hash"

interface StoredRow {
  readonly seq: string
  readonly eventId: string
  readonly type: string
  readonly actor: string | null
  readonly projectId: string | null
  readonly occurredAt: Date
  readonly ip: string | null
  readonly requestId: string | null
  readonly before: string | null
  readonly after: string | null
  readonly details: string
  readonly prevHash: string
  readonly hash: string
}

const parseJson = (text: string | null) => (text === null ? null : (JSON.parse(text) as Json))

const fromStored = (row: StoredRow): AuditRow => ({
  ...row,
  before: parseJson(row.before),
  after: parseJson(row.after),
  details: parseJson(row.details) ?? {}
})

/** A stored row with its JSON columns parsed. */
interface AuditRow extends Omit<StoredRow, "before" | "after" | "details"> {
  readonly before: Json | null
  readonly after: Json | null
  readonly details: Json
}

type Hashed = Omit<AuditRow, "hash" | "seq"> & { readonly seq: number }

/** Everything a row says, bound to the row before it: changing any field or dropping a row breaks the chain. */
const hashOf = (row: Hashed) =>
  createHash("sha256")
    .update(
      canonicalJson([
        row.prevHash,
        row.seq,
        row.eventId,
        row.type,
        row.actor,
        row.projectId,
        row.occurredAt.toISOString(),
        row.ip,
        row.requestId,
        row.before,
        row.after,
        row.details
      ])
    )
    .digest("hex")

/** What changed, for the events that say so. */
const changeOf = (event: DomainEvent): { before: Json | null; after: Json | null } => {
  switch (event._tag) {
    case "user.role_changed":
      return { before: { role: event.payload.from }, after: { role: event.payload.to } }
    case "user.disabled":
      return { before: { disabled: !event.payload.disabled }, after: { disabled: event.payload.disabled } }
    case "project.updated":
      return { before: event.payload.before ?? null, after: event.payload.after ?? null }
    default:
      return { before: null, after: null }
  }
}

const projectOf = (event: DomainEvent) =>
  "projectId" in event.payload && typeof event.payload.projectId === "string" ? event.payload.projectId : null

const Cursor = Schema.compose(Schema.StringFromBase64Url, Schema.NumberFromString.pipe(Schema.int()))
const decodeCursor = Schema.decodeUnknownOption(Cursor)
const encodeCursor = Schema.encodeSync(Cursor)

const toEntry = (row: AuditRow) =>
  new AuditEntry({
    seq: Number(row.seq),
    eventId: row.eventId,
    type: row.type,
    actor: row.actor,
    projectId: row.projectId,
    occurredAt: DateTime.unsafeFromDate(row.occurredAt),
    ip: row.ip,
    requestId: row.requestId,
    before: row.before,
    after: row.after,
    details: row.details,
    hash: row.hash
  })

const VERIFY_BATCH = 1_000
const PRUNE_BATCH = 1_000

/** Appends the event as the chain's next link; run inside the consumer's transaction, which locks the head. */
export const appendToAuditLog = Effect.fn("AuditLog.append")(function* (event: DomainEvent) {
  const sql = yield* SqlClient.SqlClient
  const [head] = yield* sql<{ headSeq: string; headHash: string }>`
      select head_seq, head_hash from audit_chain for update`
  const seq = Number(head?.headSeq ?? 0) + 1
  const row: Hashed = {
    seq,
    eventId: event.id,
    type: event._tag,
    actor: event.actor,
    projectId: projectOf(event),
    occurredAt: DateTime.toDateUtc(event.occurredAt),
    ip: event.origin?.ip ?? null,
    requestId: event.origin?.requestId ?? null,
    ...(redact(changeOf(event)) as { before: Json | null; after: Json | null }),
    details: redact(event.payload) as Json,
    prevHash: head?.headHash ?? GENESIS
  }
  const hash = hashOf(row)
  yield* sql`insert into audit_log ${sql.insert({
    ...row,
    before: row.before === null ? null : JSON.stringify(row.before),
    after: row.after === null ? null : JSON.stringify(row.after),
    details: JSON.stringify(row.details),
    hash
  })}`
  yield* sql`update audit_chain set head_seq = ${seq}, head_hash = ${hash}`
})

export interface AuditLogShape {
  /** Newest first; `projectEventsOnly` keeps to events about a project (what moderators may see). */
  readonly list: (query: AuditQuery, projectEventsOnly: boolean) => Effect.Effect<AuditPage, ValidationFailed>
  readonly verify: Effect.Effect<ChainReport>
  /** Deletes the oldest rows recorded before `cutoff`, moving the anchor so what remains still verifies. */
  readonly prune: (cutoff: Date) => Effect.Effect<number>
}

export class AuditLog extends Context.Tag("app/AuditLog")<AuditLog, AuditLogShape>() {
  static readonly layer = Layer.effect(
    AuditLog,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const replica = yield* ReadReplica

      const list = Effect.fn("AuditLog.list")(function* (query: AuditQuery, projectEventsOnly: boolean) {
        const after = query.cursor === undefined ? Option.none() : decodeCursor(query.cursor)
        if (query.cursor !== undefined && Option.isNone(after)) {
          return yield* new Invalid({
            detail: "The cursor is not one this server issued",
            errors: [new FieldProblem({ path: "cursor", message: "is invalid" })]
          })
        }
        const conditions = [
          ...(projectEventsOnly ? [replica`project_id is not null`] : []),
          ...(query.actor === undefined ? [] : [replica`actor = ${query.actor}`]),
          ...(query.type === undefined ? [] : [replica`type = ${query.type}`]),
          ...(query.from === undefined ? [] : [replica`occurred_at >= ${DateTime.toDateUtc(query.from)}`]),
          ...(query.to === undefined ? [] : [replica`occurred_at < ${DateTime.toDateUtc(query.to)}`]),
          ...Option.match(after, { onNone: () => [], onSome: (seq) => [replica`seq < ${seq}`] })
        ]
        const rows = yield* replica<StoredRow>`
          select ${replica.unsafe(COLUMNS)} from audit_log where ${replica.and(conditions)}
          order by seq desc limit ${query.limit + 1}`.pipe(
          Effect.map((rows) => rows.map(fromStored)),
          Effect.orDie
        )
        const page = rows.slice(0, query.limit)
        const last = page[page.length - 1]
        return new AuditPage({
          items: page.map(toEntry),
          nextCursor: rows.length > query.limit && last !== undefined ? encodeCursor(Number(last.seq)) : null
        })
      })

      const verify = Effect.gen(function* () {
        const [chain] = yield* sql<{ headSeq: string; headHash: string; anchorSeq: string; anchorHash: string }>`
          select head_seq, head_hash, anchor_seq, anchor_hash from audit_chain`
        let expectedSeq = Number(chain?.anchorSeq ?? 0) + 1
        let prevHash = chain?.anchorHash ?? GENESIS
        let checked = 0
        const broken = (seq: number, eventId: string | null, reason: string) =>
          new ChainReport({ intact: false, checked, firstBroken: new BrokenLink({ seq, eventId, reason }) })
        while (true) {
          const rows = yield* sql<StoredRow>`
            select ${sql.unsafe(COLUMNS)} from audit_log
            where seq >= ${expectedSeq} order by seq limit ${VERIFY_BATCH}`.pipe(
            Effect.map((rows) => rows.map(fromStored))
          )
          for (const row of rows) {
            const seq = Number(row.seq)
            if (seq !== expectedSeq) return broken(expectedSeq, null, `row ${expectedSeq} is missing`)
            if (row.prevHash !== prevHash) {
              return broken(seq, row.eventId, "its previous-hash does not match the row before it")
            }
            if (hashOf({ ...row, seq }) !== row.hash) return broken(seq, row.eventId, "its contents were changed")
            prevHash = row.hash
            expectedSeq += 1
            checked += 1
          }
          if (rows.length < VERIFY_BATCH) break
        }
        const headSeq = Number(chain?.headSeq ?? 0)
        if (headSeq !== expectedSeq - 1 || (chain?.headHash ?? GENESIS) !== prevHash) {
          return broken(headSeq, null, `rows after ${expectedSeq - 1} are missing`)
        }
        return new ChainReport({ intact: true, checked, firstBroken: null })
      }).pipe(
        // One snapshot for the whole walk, so rows appended or pruned meanwhile do not look like broken links.
        (walk) => sql.withTransaction(Effect.zipRight(sql`set transaction isolation level repeatable read`, walk)),
        Effect.orDie,
        Effect.withSpan("AuditLog.verify")
      )

      const pruneBatch = (cutoff: Date) =>
        sql.withTransaction(
          Effect.gen(function* () {
            yield* sql`select set_config('plinth.audit_prune', 'on', true)`
            yield* sql`select 1 from audit_chain for update`
            const gone = yield* sql<{ seq: string; hash: string }>`
              delete from audit_log where seq in (
                select seq from audit_log
                where seq < coalesce(
                  (select min(seq) from audit_log where recorded_at >= ${cutoff}),
                  (select max(seq) + 1 from audit_log)
                )
                order by seq limit ${PRUNE_BATCH}
              ) returning seq, hash`
            const last = gone.reduce<{ seq: string; hash: string } | undefined>(
              (newest, row) => (newest === undefined || Number(row.seq) > Number(newest.seq) ? row : newest),
              undefined
            )
            if (last !== undefined) {
              yield* sql`update audit_chain set anchor_seq = ${Number(last.seq)}, anchor_hash = ${last.hash}`
            }
            return gone.length
          })
        )

      const prune = Effect.fn("AuditLog.prune")(function* (cutoff: Date) {
        let total = 0
        while (true) {
          const deleted = yield* pruneBatch(cutoff)
          total += deleted
          if (deleted < PRUNE_BATCH) return total
        }
      }, Effect.orDie)

      return AuditLog.of({ list, verify, prune })
    })
  )
}

/** Prunes past the retention period every `every`, in the worker. */
export const makeAuditPruner = (retention: Duration.Duration, every: Duration.Duration) =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const log = yield* AuditLog
      const pruneOnce = Effect.gen(function* () {
        const cutoff = new Date((yield* Clock.currentTimeMillis) - Duration.toMillis(retention))
        const pruned = yield* log.prune(cutoff)
        if (pruned > 0) yield* Effect.logInfo("Audit log pruned").pipe(Effect.annotateLogs("rows", pruned))
      }).pipe(Effect.catchAllCause((cause) => Effect.logWarning("Audit log: pruning failed; retried later", cause)))
      yield* Effect.forkScoped(Effect.repeat(pruneOnce, { schedule: Schedule.spaced(every) }))
    })
  )
