import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

const migration = (statements: (sql: SqlClient.SqlClient) => ReadonlyArray<Effect.Effect<unknown, unknown>>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.forEach(statements(sql), (statement) => statement))

/** The core schema. Modules add theirs in their own id ranges (identity 01xx, projects 02xx, plugins 1000+). */
export const coreMigrations = {
  "0001_create_users": migration((sql) => [
    sql`create table users (
      id uuid primary key default gen_random_uuid(),
      email varchar(255) unique not null,
      password_hash varchar(255) not null,
      name text not null default '',
      role text not null default 'user' check (role in ('admin', 'moderator', 'user', 'guest')),
      disabled_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`,
    sql`create index users_created_at_id_idx on users (created_at desc, id desc)`,
    sql`create index users_role_created_at_id_idx on users (role, created_at desc, id desc)`
  ]),
  "0002_create_projects": migration((sql) => [
    sql`create extension if not exists pg_trgm`,
    sql`create table projects (
      id uuid primary key default gen_random_uuid(),
      name varchar(255) not null,
      description text,
      owner_id uuid references users(id) on delete cascade,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`,
    sql`create index projects_created_at_id_idx on projects (created_at desc, id desc)`,
    sql`create index projects_owner_id_created_at_id_idx on projects (owner_id, created_at desc, id desc)`,
    sql`create index projects_name_trgm_idx on projects using gin (name gin_trgm_ops)`
  ]),
  "0003_create_sessions": migration((sql) => [
    sql`create table sessions (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users(id) on delete cascade,
      user_agent text,
      ip text,
      created_at timestamptz not null default now(),
      last_used_at timestamptz not null default now(),
      expires_at timestamptz not null,
      revoked_at timestamptz
    )`,
    sql`create index sessions_user_id_idx on sessions (user_id, created_at desc)`,
    sql`create table refresh_tokens (
      token_hash bytea primary key,
      session_id uuid not null references sessions(id) on delete cascade,
      successor_hash bytea,
      used_at timestamptz,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null
    )`,
    sql`create index refresh_tokens_session_id_idx on refresh_tokens (session_id)`
  ]),
  "0004_create_files": migration((sql) => [
    sql`create table files (
      id uuid primary key default gen_random_uuid(),
      project_id uuid not null references projects(id) on delete cascade,
      name varchar(255) not null,
      content_type varchar(255) not null,
      size bigint not null,
      sha256 char(64) not null,
      storage_key text unique not null,
      created_at timestamptz not null default now()
    )`,
    sql`create index files_project_id_created_at_id_idx on files (project_id, created_at desc, id desc)`
  ]),
  "0005_create_outbox": migration((sql) => [
    sql`create table outbox (
      id uuid primary key,
      type text not null,
      routing_key text not null,
      payload jsonb not null,
      headers jsonb not null default '{}',
      occurred_at timestamptz not null default now(),
      published_at timestamptz,
      attempts integer not null default 0
    )`,
    sql`create index outbox_unpublished_idx on outbox (occurred_at) where published_at is null`,
    sql`create table processed_events (
      consumer text not null,
      event_id uuid not null,
      processed_at timestamptz not null default now(),
      primary key (consumer, event_id)
    )`
  ])
} satisfies Record<string, Effect.Effect<void, unknown, SqlClient.SqlClient>>
