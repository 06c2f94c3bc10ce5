import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** Every insert into the outbox notifies this channel when its transaction commits. */
export const OUTBOX_CHANNEL = "plinth_outbox"

/** The relay's changes to the core outbox tables (0005), in the core range because the events module is always on. */
export const eventsMigrations = {
  "0006_outbox_relay": Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.all([
      // A claim is a lease: the rows of a relay that dies mid-batch go to another relay once it expires.
      sql`alter table outbox add column claimed_until timestamptz`,
      sql`create index outbox_published_at_idx on outbox (published_at) where published_at is not null`,
      sql`create index processed_events_processed_at_idx on processed_events (processed_at)`,
      sql.unsafe(`create function outbox_notify() returns trigger language plpgsql as $$
        begin
          perform pg_notify('${OUTBOX_CHANNEL}', 'insert');
          return null;
        end $$`),
      sql`create trigger outbox_notify after insert on outbox for each statement execute function outbox_notify()`
    ])
  ),
  // The W3C traceparent of the span that recorded the event, so its publishing and consumption join that trace.
  "0007_outbox_trace_context": Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql`alter table outbox add column trace_parent text`
  )
} satisfies Record<string, Effect.Effect<unknown, unknown, SqlClient.SqlClient>>
