import { SqlClient } from "@effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { coreMigrations } from "../../src/layers/migrations/core.js"
import { makeMigrationsLive } from "../../src/layers/migrations/index.js"
import { makePgliteClient } from "../../src/layers/database/pglite.js"
import { makePostgresClient, makePostgresReplica } from "../../src/layers/database/postgres.js"
import { ReadReplica } from "../../src/layers/database.js"
import { serviceUrl } from "../support/services.js"
import { tempDir } from "../support/settings.js"
import { freshPostgresDatabase, query } from "../support/postgres.js"

const postgresUrl = serviceUrl("TEST_DATABASE_URL")

const implementations: ReadonlyArray<readonly [string, Layer.Layer<SqlClient.SqlClient, unknown>]> = [
  ["PGlite", makePgliteClient(tempDir("pglite"))],
  ...(postgresUrl === undefined
    ? []
    : [
        [
          "PostgreSQL",
          Layer.unwrapScoped(
            Effect.map(freshPostgresDatabase(postgresUrl), (url) =>
              makePostgresClient({ url: Redacted.make(url), maxConnections: 4 })
            )
          )
        ] as const
      ])
]

describe.each(implementations)("Database contract: %s", (_, client) => {
  const Database = makeMigrationsLive(coreMigrations).pipe(Layer.provideMerge(client))

  layer(Database, { timeout: "60 seconds", excludeTestServices: true })((it) => {
    it.effect("migrates the core schema once and records it", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const tables = yield* sql<{ tableName: string }>`
          select table_name from information_schema.tables where table_schema = 'public' order by table_name`
        expect(tables.map((t) => t.tableName)).toEqual(
          expect.arrayContaining([
            "users",
            "projects",
            "sessions",
            "refresh_tokens",
            "files",
            "outbox",
            "processed_events"
          ])
        )
        const applied = yield* sql<{ migrationId: number }>`select migration_id from effect_sql_migrations`
        expect(applied.map((m) => m.migrationId)).toEqual([1, 2, 3, 4, 5])
      })
    )

    it.effect("maps camelCase to snake_case both ways and parses types like the pg driver", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const [user] = yield* sql<{ id: string; passwordHash: string; createdAt: Date; role: string }>`
          insert into users ${sql.insert({ email: "ada@example.com", passwordHash: "x" })}
          returning id, password_hash, created_at, role`
        expect(user?.passwordHash).toBe("x")
        expect(user?.role).toBe("user")
        expect(user?.createdAt).toBeInstanceOf(Date)
        expect(user?.id).toMatch(/^[0-9a-f-]{36}$/)
        const [count] = yield* sql<{ total: string }>`select count(*) as total from users`
        expect(count?.total).toBe("1")
      })
    )

    it.effect("rolls a failed transaction back completely", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const attempt = sql.withTransaction(
          Effect.gen(function* () {
            yield* sql`insert into users ${sql.insert({ email: "rollback@example.com", passwordHash: "x" })}`
            yield* sql`insert into users ${sql.insert({ email: "rollback@example.com", passwordHash: "y" })}`
          })
        )
        const outcome = yield* Effect.either(attempt)
        expect(outcome._tag).toBe("Left")
        const rows = yield* sql`select 1 from users where email = 'rollback@example.com'`
        expect(rows).toHaveLength(0)
      })
    )

    it.effect("keeps concurrent transactions isolated from each other's statements", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const insertThenFail = (email: string) =>
          sql
            .withTransaction(
              Effect.gen(function* () {
                yield* sql`insert into users ${sql.insert({ email, passwordHash: "x" })}`
                yield* Effect.sleep("5 millis")
                return yield* Effect.fail("abort")
              })
            )
            .pipe(Effect.either)
        const insertAndKeep = (email: string) =>
          sql.withTransaction(sql`insert into users ${sql.insert({ email, passwordHash: "x" })}`)
        yield* Effect.all(
          [
            insertThenFail("tx-a@example.com"),
            insertAndKeep("tx-b@example.com"),
            insertThenFail("tx-c@example.com"),
            insertAndKeep("tx-d@example.com")
          ],
          { concurrency: "unbounded" }
        )
        const rows = yield* sql<{ email: string }>`select email from users where email like 'tx-%' order by email`
        expect(rows.map((r) => r.email)).toEqual(["tx-b@example.com", "tx-d@example.com"])
      })
    )

    it.effect("serves case-insensitive name search from the trigram index", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const [owner] = yield* sql<{ id: string }>`
          insert into users ${sql.insert({ email: "owner@example.com", passwordHash: "x" })} returning id`
        yield* sql`insert into projects ${sql.insert([
          { name: "Apollo Guidance", ownerId: owner!.id },
          { name: "Gemini", ownerId: owner!.id }
        ])}`
        const found = yield* sql<{ name: string }>`select name from projects where name ilike ${"%guid%"}`
        expect(found.map((p) => p.name)).toEqual(["Apollo Guidance"])
      })
    )

    it.effect("cascades a user's deletion to their projects and files", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const [owner] = yield* sql<{ id: string }>`
          insert into users ${sql.insert({ email: "leaving@example.com", passwordHash: "x" })} returning id`
        const [project] = yield* sql<{ id: string }>`
          insert into projects ${sql.insert({ name: "Doomed", ownerId: owner!.id })} returning id`
        yield* sql`insert into files ${sql.insert({
          projectId: project!.id,
          name: "a.txt",
          contentType: "text/plain",
          size: 1,
          sha256: "0".repeat(64),
          storageKey: `files/${project!.id}/a`
        })}`
        yield* sql`delete from users where id = ${owner!.id}`
        const left = yield* sql`select 1 from files where project_id = ${project!.id}`
        expect(left).toHaveLength(0)
      })
    )
  })
})

describe.runIf(postgresUrl !== undefined)("Database: read replica", () => {
  const Primary = Layer.unwrapScoped(
    Effect.map(freshPostgresDatabase(postgresUrl ?? ""), (url) =>
      makePostgresReplica({ url: Redacted.make(url), maxConnections: 2 }).pipe(
        Layer.provideMerge(makeMigrationsLive(coreMigrations)),
        Layer.provideMerge(makePostgresClient({ url: Redacted.make(url), maxConnections: 2 }))
      )
    )
  )

  layer(Primary, { timeout: "60 seconds", excludeTestServices: true })((it) => {
    it.effect("reads through its own pool what the primary committed", () =>
      Effect.gen(function* () {
        const primary = yield* SqlClient.SqlClient
        const replica = yield* ReadReplica
        expect(replica).not.toBe(primary)
        yield* primary`insert into users ${primary.insert({ email: "replicated@example.com", passwordHash: "x" })}`
        const rows = yield* replica<{ email: string }>`select email from users`
        expect(rows.map((r) => r.email)).toEqual(["replicated@example.com"])
      })
    )
  })
})

describe.runIf(postgresUrl !== undefined)("Database: processes that start together", () => {
  it.scopedLive(
    "all migrate one fresh database, and each migration runs once",
    () =>
      Effect.gen(function* () {
        const url = yield* freshPostgresDatabase(postgresUrl ?? "")
        const startingProcess = () =>
          Layer.build(
            makeMigrationsLive(coreMigrations).pipe(
              Layer.provide(makePostgresClient({ url: Redacted.make(url), maxConnections: 2 }))
            )
          )
        yield* Effect.all(Array.from({ length: 4 }, startingProcess), { concurrency: "unbounded" })
        const applied = yield* query(url, "select migration_id from effect_sql_migrations order by migration_id", [])
        expect(applied.map((row) => row["migration_id"])).toEqual([1, 2, 3, 4, 5])
      }),
    { timeout: 60_000 }
  )
})
