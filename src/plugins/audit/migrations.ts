import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** The hash every chain starts from. */
export const GENESIS = "0".repeat(64)

/** Numbered in the plugin's own migration table. */
export const auditMigrations = {
  "0001_create_audit_log": Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.all([
      sql`create table audit_log (
        seq bigint primary key,
        event_id uuid not null unique,
        type text not null,
        actor uuid,
        project_id uuid,
        occurred_at timestamptz not null,
        recorded_at timestamptz not null default now(),
        ip text,
        request_id text,
        before jsonb,
        after jsonb,
        details jsonb not null,
        prev_hash char(64) not null,
        hash char(64) not null
      )`,
      sql`create index audit_log_actor_seq_idx on audit_log (actor, seq desc)`,
      sql`create index audit_log_type_seq_idx on audit_log (type, seq desc)`,
      sql`create index audit_log_occurred_at_idx on audit_log (occurred_at)`,
      sql`create index audit_log_recorded_at_idx on audit_log (recorded_at)`,
      // head: the newest row; anchor: the hash of the last pruned row, which the oldest kept row links to.
      sql`create table audit_chain (
        singleton boolean primary key default true check (singleton),
        head_seq bigint not null,
        head_hash char(64) not null,
        anchor_seq bigint not null,
        anchor_hash char(64) not null
      )`,
      sql`insert into audit_chain (head_seq, head_hash, anchor_seq, anchor_hash) values (0, ${GENESIS}, 0, ${GENESIS})`,
      // Append-only: no update ever, and deletes only by the retention pruner, which sets plinth.audit_prune.
      sql.unsafe(`create function audit_log_append_only() returns trigger language plpgsql as $$
        begin
          if tg_op = 'DELETE' and current_setting('plinth.audit_prune', true) = 'on' then
            return old;
          end if;
          raise exception 'audit_log is append-only';
        end $$`),
      sql`create trigger audit_log_append_only before update or delete on audit_log
        for each row execute function audit_log_append_only()`
    ])
  )
} satisfies Record<string, Effect.Effect<unknown, unknown, SqlClient.SqlClient>>
