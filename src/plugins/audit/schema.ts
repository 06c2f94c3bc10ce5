import { Schema } from "effect"
import { PageLimit } from "../../services/pagination.js"
import { optionalField } from "../../services/schema.js"

const Json = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/** One recorded domain event. Secrets are redacted and email addresses pseudonymised before the row is written. */
export class AuditEntry extends Schema.Class<AuditEntry>("AuditEntry")({
  seq: Schema.Number,
  eventId: Schema.UUID,
  type: Schema.String,
  actor: Schema.NullOr(Schema.UUID),
  projectId: Schema.NullOr(Schema.UUID),
  occurredAt: Schema.DateTimeUtc,
  ip: Schema.NullOr(Schema.String),
  requestId: Schema.NullOr(Schema.String),
  before: Schema.NullOr(Json),
  after: Schema.NullOr(Json),
  details: Json,
  hash: Schema.String
}) {}

export class AuditPage extends Schema.Class<AuditPage>("AuditPage")({
  items: Schema.Array(AuditEntry),
  nextCursor: Schema.NullOr(Schema.String)
}) {}

export const AuditQuery = Schema.Struct({
  actor: optionalField(Schema.UUID),
  type: optionalField(
    Schema.String.pipe(Schema.pattern(/^[a-z_]+\.[a-z_]+$/, { message: () => "must be an event type" }))
  ),
  from: optionalField(Schema.DateTimeUtc),
  to: optionalField(Schema.DateTimeUtc),
  cursor: optionalField(Schema.String.pipe(Schema.maxLength(100))),
  limit: Schema.optionalWith(PageLimit, { default: () => 50, exact: true })
})
export type AuditQuery = typeof AuditQuery.Type

export class BrokenLink extends Schema.Class<BrokenLink>("BrokenLink")({
  seq: Schema.Number,
  eventId: Schema.NullOr(Schema.UUID),
  reason: Schema.String
}) {}

/** The chain from the oldest kept row to the newest; `firstBroken` is null when every link holds. */
export class ChainReport extends Schema.Class<ChainReport>("ChainReport")({
  intact: Schema.Boolean,
  checked: Schema.Number,
  firstBroken: Schema.NullOr(BrokenLink)
}) {}
