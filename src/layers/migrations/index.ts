import { Migrator } from "@effect/sql"
import { Effect, Layer } from "effect"
import type { SqlClient } from "../database.js"

/** Applies every pending migration, in id order, before anything that serves or consumes starts. */
export const makeMigrationsLive = (
  migrations: Readonly<Record<string, Effect.Effect<void, unknown, SqlClient.SqlClient>>>
) =>
  Layer.effectDiscard(
    Migrator.make({})({ loader: Migrator.fromRecord(migrations) }).pipe(
      Effect.tap((applied) =>
        applied.length === 0
          ? Effect.logDebug("Database schema up to date")
          : Effect.logInfo("Database migrated", applied.map(([id, name]) => `${id}_${name}`).join(", "))
      ),
      Effect.withSpan("Migrations.run")
    )
  )
