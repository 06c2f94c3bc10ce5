import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** Numbered in the plugin's own migration table. */
export const webhooksMigrations = {
  "0001_create_webhooks": Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.all([
      sql`create table webhook_endpoints (
        id uuid primary key default gen_random_uuid(),
        project_id uuid not null references projects(id) on delete cascade,
        url text not null,
        event_types jsonb not null,
        secret_ciphertext text not null,
        created_by uuid,
        created_at timestamptz not null default now()
      )`,
      sql`create index webhook_endpoints_project_id_idx on webhook_endpoints (project_id)`,
      sql`create index webhook_endpoints_created_by_idx on webhook_endpoints (created_by)`,
      sql`create table webhook_deliveries (
        id uuid primary key default gen_random_uuid(),
        endpoint_id uuid not null references webhook_endpoints(id) on delete cascade,
        event_id uuid not null,
        event_type text not null,
        body text not null,
        status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
        attempts integer not null default 0,
        last_status_code integer,
        last_error text,
        created_at timestamptz not null default now(),
        last_attempt_at timestamptz,
        delivered_at timestamptz,
        unique (endpoint_id, event_id)
      )`,
      sql`create index webhook_deliveries_endpoint_created_idx on webhook_deliveries (endpoint_id, created_at desc, id desc)`
    ])
  )
} satisfies Record<string, Effect.Effect<unknown, unknown, SqlClient.SqlClient>>
