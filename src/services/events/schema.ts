import { Schema } from "effect"

/**
 * The domain events, one Schema class each. Every event carries its own `type` and `version`, so a consumer
 * can refuse a version it does not know instead of misreading it; payloads never hold secrets.
 */
const envelope = {
  /** UUID v7: time-ordered, so outbox rows sort by creation. */
  id: Schema.UUID,
  occurredAt: Schema.DateTimeUtc,
  /** The user who caused the change; null for the system (start-up, retention jobs). */
  actor: Schema.NullOr(Schema.UUID),
  version: Schema.Literal(1),
  /** The client address and request id of the HTTP request that caused it; absent for the system. */
  origin: Schema.optional(Schema.Struct({ ip: Schema.NullOr(Schema.String), requestId: Schema.String }))
}

export class UserRegistered extends Schema.TaggedClass<UserRegistered>()("user.registered", {
  ...envelope,
  payload: Schema.Struct({ userId: Schema.UUID, email: Schema.String })
}) {}

export class UserLoggedIn extends Schema.TaggedClass<UserLoggedIn>()("user.logged_in", {
  ...envelope,
  payload: Schema.Struct({ userId: Schema.UUID, sessionId: Schema.UUID })
}) {}

export class UserRoleChanged extends Schema.TaggedClass<UserRoleChanged>()("user.role_changed", {
  ...envelope,
  payload: Schema.Struct({ userId: Schema.UUID, from: Schema.String, to: Schema.String })
}) {}

export class UserDisabled extends Schema.TaggedClass<UserDisabled>()("user.disabled", {
  ...envelope,
  payload: Schema.Struct({ userId: Schema.UUID, disabled: Schema.Boolean })
}) {}

export class UserDeleted extends Schema.TaggedClass<UserDeleted>()("user.deleted", {
  ...envelope,
  payload: Schema.Struct({ userId: Schema.UUID })
}) {}

export class SessionRevoked extends Schema.TaggedClass<SessionRevoked>()("session.revoked", {
  ...envelope,
  payload: Schema.Struct({
    sessionId: Schema.UUID,
    userId: Schema.UUID,
    reason: Schema.Literal("logout", "revoked", "password_changed", "disabled", "reuse_detected", "deleted")
  })
}) {}

export class ProjectCreated extends Schema.TaggedClass<ProjectCreated>()("project.created", {
  ...envelope,
  payload: Schema.Struct({ projectId: Schema.UUID, ownerId: Schema.UUID, name: Schema.String })
}) {}

export class ProjectUpdated extends Schema.TaggedClass<ProjectUpdated>()("project.updated", {
  ...envelope,
  payload: Schema.Struct({
    projectId: Schema.UUID,
    ownerId: Schema.UUID,
    changed: Schema.Array(Schema.String),
    /** The changed fields' values before and after the update. */
    before: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
    after: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
  })
}) {}

export class ProjectDeleted extends Schema.TaggedClass<ProjectDeleted>()("project.deleted", {
  ...envelope,
  payload: Schema.Struct({ projectId: Schema.UUID, ownerId: Schema.UUID })
}) {}

export class FileUploaded extends Schema.TaggedClass<FileUploaded>()("file.uploaded", {
  ...envelope,
  payload: Schema.Struct({
    fileId: Schema.UUID,
    projectId: Schema.UUID,
    size: Schema.Number,
    contentType: Schema.String
  })
}) {}

export class FileDeleted extends Schema.TaggedClass<FileDeleted>()("file.deleted", {
  ...envelope,
  payload: Schema.Struct({ fileId: Schema.UUID, projectId: Schema.UUID })
}) {}

/** Stored contents to remove once the metadata that pointed at them is gone; retried until storage answers. */
export class StoragePurgeRequested extends Schema.TaggedClass<StoragePurgeRequested>()("storage.purge_requested", {
  ...envelope,
  payload: Schema.Struct({ keys: Schema.Array(Schema.String), prefixes: Schema.Array(Schema.String) })
}) {}

export const DomainEvent = Schema.Union(
  UserRegistered,
  UserLoggedIn,
  UserRoleChanged,
  UserDisabled,
  UserDeleted,
  SessionRevoked,
  ProjectCreated,
  ProjectUpdated,
  ProjectDeleted,
  FileUploaded,
  FileDeleted,
  StoragePurgeRequested
)
export type DomainEvent = typeof DomainEvent.Type
export type EventType = DomainEvent["_tag"]

/** A delivery that failed its last attempt, as the admin endpoints list it; `body` is the event's JSON. */
export class DeadLetterView extends Schema.Class<DeadLetterView>("DeadLetterView")({
  id: Schema.String,
  consumer: Schema.String,
  routingKey: Schema.String,
  body: Schema.String,
  attempts: Schema.Number,
  lastError: Schema.String,
  deadAt: Schema.DateTimeUtc
}) {}
