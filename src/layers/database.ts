import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Context, type Effect, Predicate, type Scope, type Stream } from "effect"

/**
 * The client for reads that tolerate replication lag: the replica when DATABASE_REPLICA_URL is set,
 * otherwise the primary itself. Writes and read-your-own-write paths use `SqlClient.SqlClient`.
 */
export class ReadReplica extends Context.Tag("app/ReadReplica")<ReadReplica, SqlClient.SqlClient>() {}

export interface DatabaseNotificationsShape {
  /**
   * Listens on `channel` until the scope closes. Once it has succeeded, every notification sent afterwards is in
   * the stream; one sent inside a transaction arrives when that commits, and never if it rolls back. The stream
   * fails when the listening connection is lost; what was sent meanwhile is not replayed.
   */
  readonly listen: (channel: string) => Effect.Effect<Stream.Stream<string, SqlError>, SqlError, Scope.Scope>
  /** `pg_notify` as a statement of the calling fiber, so it joins the caller's `sql.withTransaction`. */
  readonly notify: (channel: string, payload: string) => Effect.Effect<void, SqlError>
}

/** PostgreSQL's LISTEN/NOTIFY, on the primary. */
export class DatabaseNotifications extends Context.Tag("app/DatabaseNotifications")<
  DatabaseNotifications,
  DatabaseNotificationsShape
>() {}

/** PostgreSQL's SQLSTATE for a failed statement (`23505`, a unique violation, …), from either client. */
export const sqlState = (error: SqlError): string | undefined =>
  Predicate.isRecord(error.cause) && typeof error.cause["code"] === "string" ? error.cause["code"] : undefined

export { SqlClient }
