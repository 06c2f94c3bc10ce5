import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** The projects module's own schema changes, in its id range (02xx). */
export const projectsMigrations = {
  "0201_pending_uploads": Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.all([
      // A reservation for each upload in flight, written before its first byte is stored and deleted in the
      // transaction that inserts its file row. No foreign key: a reservation must outlive its project, or a
      // deleted project would orphan the object of an upload that crashed.
      sql`create table pending_uploads (
        storage_key text primary key,
        created_at timestamptz not null default now()
      )`,
      sql`create index pending_uploads_created_at_idx on pending_uploads (created_at)`
    ])
  ),
  // GIN costs every trigram of a pattern as a posting-list search, so for a long `q` the planner rated the GIN
  // index above a sequential scan of 10,000 projects; GiST serves the same ILIKE and is chosen at every size.
  "0202_projects_name_trgm_gist": Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.all([
      sql`drop index projects_name_trgm_idx`,
      sql`create index projects_name_trgm_idx on projects using gist (name gist_trgm_ops)`
    ])
  )
} satisfies Record<string, Effect.Effect<unknown, unknown, SqlClient.SqlClient>>
