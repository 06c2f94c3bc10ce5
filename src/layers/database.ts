import { SqlClient } from "@effect/sql"
import { Context } from "effect"

/**
 * The client for reads that tolerate replication lag: the replica when DATABASE_REPLICA_URL is set,
 * otherwise the primary itself. Writes and read-your-own-write paths use `SqlClient.SqlClient`.
 */
export class ReadReplica extends Context.Tag("app/ReadReplica")<ReadReplica, SqlClient.SqlClient>() {}

export { SqlClient }
