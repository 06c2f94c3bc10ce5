import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** Identity's own schema changes, in its id range (01xx). */
export const identityMigrations = {
  "0101_refresh_token_successor": Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.all([
      // The successor's token, encrypted, so a client presenting a just-used token within the reuse grace
      // gets the same successor back.
      sql`alter table refresh_tokens add column successor_token text`,
      sql`create index sessions_user_id_active_idx on sessions (user_id) where revoked_at is null`
    ])
  )
} satisfies Record<string, Effect.Effect<unknown, unknown, SqlClient.SqlClient>>
