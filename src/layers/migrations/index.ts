import { Migrator } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import { Effect, Layer } from "effect"
import { type SqlClient, sqlState } from "../database.js"

type Migrations = Readonly<Record<string, Effect.Effect<void, unknown, SqlClient.SqlClient>>>

/** PostgreSQL's codes for a table, or its row type, that another session created first. */
const createdConcurrently = new Set(["42P07", "23505"])

/**
 * Processes that start together on a fresh database all find the migrator's table missing and race to create it;
 * all but one fail on the conflict. Run again, they find the table, and its lock makes them wait their turn.
 */
const lostTheRaceToCreateTheTable = (error: unknown) =>
  error instanceof SqlError && createdConcurrently.has(sqlState(error) ?? "")

/** Applies the pending migrations of one set, in id order; each set records what it applied in its own table. */
const migrate = (migrations: Migrations, table?: string) =>
  Migrator.make({})({ loader: Migrator.fromRecord(migrations), ...(table === undefined ? {} : { table }) }).pipe(
    Effect.retry({ while: lostTheRaceToCreateTheTable, times: 3 }),
    Effect.tap((applied) =>
      applied.length === 0
        ? Effect.logDebug("Database schema up to date", table ?? "core")
        : Effect.logInfo("Database migrated", applied.map(([id, name]) => `${id}_${name}`).join(", "))
    ),
    Effect.withSpan("Migrations.run", { attributes: { table: table ?? "core" } })
  )

/**
 * Applies every pending migration before anything that serves or consumes starts: the core's first, then each
 * plugin's from its own table, since plugins build on the core's tables.
 */
export const makeMigrationsLive = (
  migrations: Migrations,
  plugins: ReadonlyArray<{ readonly table: string; readonly migrations: Migrations }> = []
) =>
  Layer.effectDiscard(
    Effect.zipRight(
      migrate(migrations),
      Effect.forEach(plugins, (plugin) => migrate(plugin.migrations, plugin.table), { discard: true })
    )
  )
