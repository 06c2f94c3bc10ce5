import { randomBytes } from "node:crypto"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Option, Redacted, Schedule } from "effect"
import { SqlClient } from "../../src/layers/database.js"
import { makePgliteClient } from "../../src/layers/database/pglite.js"
import { makePostgresClient } from "../../src/layers/database/postgres.js"
import { coreMigrations } from "../../src/layers/migrations/core.js"
import { makeMigrationsLive } from "../../src/layers/migrations/index.js"
import { coreModules, migrationsOf } from "../../src/plugins/registry.js"
import type { Role } from "../../src/services/identity/schema.js"
import {
  accountWithRole,
  apiClient,
  expectNothingLeaked,
  expectProblem,
  loginAdmin,
  register,
  request,
  responseBodies
} from "../identity/harness.js"
import { freshPostgresDatabase } from "../support/postgres.js"
import { serviceUrl } from "../support/services.js"
import { tempDir } from "../support/settings.js"
import { Backstage, backends, projectsClient, projectsServer, send } from "./harness.js"

interface ProjectJson {
  readonly id: string
  readonly name: string
  readonly description: string | null
  readonly ownerId: string
  readonly createdAt: string
}

interface PageJson {
  readonly items: ReadonlyArray<ProjectJson>
  readonly nextCursor: string | null
}

const create = (token: string, body: unknown) => request("POST", "/projects", { token, body })

const created = (token: string, name: string) =>
  Effect.map(create(token, { name }), (response) => {
    expect(response.status, response.text).toBe(201)
    return response.json as ProjectJson
  })

/** Every page of GET /projects with `query`, following nextCursor; `between` runs after each page. */
const allPages = <R>(token: string, query: string, between: Effect.Effect<unknown, never, R>) =>
  Effect.gen(function* () {
    const items: Array<ProjectJson> = []
    let cursor: string | null = null
    let pages = 0
    do {
      const response = yield* request(
        "GET",
        `/projects?${query}${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`,
        { token }
      )
      expect(response.status, response.text).toBe(200)
      const page = response.json as PageJson
      items.push(...page.items)
      cursor = page.nextCursor
      pages += 1
      yield* between
    } while (cursor !== null)
    return { items, pages }
  })

/** JSON timestamps have milliseconds while the order is by microseconds, so only this much order is visible. */
const newestFirst = (items: ReadonlyArray<ProjectJson>) =>
  items.every((item, i) => {
    const previous = items[i - 1]
    return previous === undefined || previous.createdAt >= item.createdAt
  })

describe.each(backends)("Projects on $name", (backend) => {
  layer(projectsServer(backend), { timeout: "300 seconds", excludeTestServices: true })((it) => {
    it.effect("creates, reads, updates and deletes a project through the typed client", () =>
      Effect.gen(function* () {
        const owner = yield* register()
        const client = yield* projectsClient(owner.auth.accessToken)
        const project = yield* client.projects.create({ payload: { name: "Apollo", description: "to the moon" } })
        expect(project).toMatchObject({ name: "Apollo", description: "to the moon", ownerId: owner.auth.user.id })
        expect((yield* created(owner.auth.accessToken, "  Gemini \t")).name).toBe("Gemini")
        expect(yield* client.projects.get({ path: { id: project.id } })).toEqual(project)

        const renamed = yield* client.projects.update({ path: { id: project.id }, payload: { name: "Artemis" } })
        expect(renamed).toMatchObject({ id: project.id, name: "Artemis", description: "to the moon" })
        expect(renamed.updatedAt.epochMillis).toBeGreaterThanOrEqual(project.updatedAt.epochMillis)
        const cleared = yield* client.projects.update({ path: { id: project.id }, payload: { description: null } })
        expect(cleared.description).toBeNull()
        expect((yield* client.projects.get({ path: { id: project.id } })).name).toBe("Artemis")

        yield* client.projects.delete({ path: { id: project.id } })
        const token = owner.auth.accessToken
        expectProblem(yield* request("GET", `/projects/${project.id}`, { token }), 404, "not-found")
        expectProblem(yield* request("DELETE", `/projects/${project.id}`, { token }), 404, "not-found")
      })
    )

    it.effect("answers projects created at once each with its own, written together, each with its event", () =>
      Effect.gen(function* () {
        const { sql } = yield* Backstage
        const owners = yield* Effect.all([register(), register(), register()], { concurrency: "unbounded" })
        const asked = owners.flatMap((owner, o) =>
          Array.from({ length: 20 }, (_, i) => ({ token: owner.auth.accessToken, ownerId: owner.auth.user.id, o, i }))
        )
        const answers = yield* Effect.forEach(asked, ({ token, o, i }) => created(token, `Batch ${o}-${i}`), {
          concurrency: "unbounded"
        })
        answers.forEach((project, n) => {
          const { ownerId, o, i } = asked[n]!
          expect(project).toMatchObject({ name: `Batch ${o}-${i}`, ownerId })
        })
        const ids = answers.map((project) => project.id)
        expect(new Set(ids).size).toBe(asked.length)
        for (const project of answers.slice(0, 3)) {
          expect((yield* request("GET", `/projects/${project.id}`, { token: asked[0]!.token })).json).toEqual(project)
        }
        const listed = yield* request("GET", `/projects?ownerId=${asked[0]!.ownerId}&limit=100`, {
          token: asked[0]!.token
        })
        expect((listed.json as PageJson).items.map((item) => item.name).sort()).toEqual(
          Array.from({ length: 20 }, (_, i) => `Batch 0-${i}`).sort()
        )

        const events = yield* sql<{ projectId: string; ownerId: string; name: string }>`
          select payload -> 'payload' ->> 'projectId' as project_id, payload -> 'payload' ->> 'ownerId' as owner_id,
            payload -> 'payload' ->> 'name' as name
          from outbox where type = 'project.created' and payload -> 'payload' ->> 'projectId' in ${sql.in(ids)}`
        const byProject = (a: { projectId: string }, b: { projectId: string }) => a.projectId.localeCompare(b.projectId)
        expect([...events].sort(byProject)).toEqual(
          answers.map(({ id, ownerId, name }) => ({ projectId: id, ownerId, name })).sort(byProject)
        )
        // Rows of one statement share its transaction's time: fewer times than projects means they were batched.
        const [times] = yield* sql<{ n: number }>`
          select count(distinct created_at)::int as n from projects where id in ${sql.in(ids)}`
        expect(times?.n).toBeLessThan(ids.length)
      })
    )

    it.effect("serves cached projects and pages only while they are current, account deletion included", () =>
      Effect.gen(function* () {
        const owner = yield* register()
        const reader = (yield* register()).auth.accessToken
        const token = owner.auth.accessToken
        const query = `/projects?ownerId=${owner.auth.user.id}`
        const names = Effect.map(request("GET", query, { token: reader }), (response) => {
          expect(response.status, response.text).toBe(200)
          return (response.json as PageJson).items.map((item) => item.name)
        })
        const project = yield* created(token, "Cached")
        // Read twice each, so the second read is the cache's.
        for (let i = 0; i < 2; i++) {
          expect(yield* names).toEqual(["Cached"])
          expect((yield* request("GET", `/projects/${project.id}`, { token: reader })).status).toBe(200)
        }
        yield* created(token, "Second")
        expect(yield* names).toEqual(["Second", "Cached"])
        const renamed = yield* request("PATCH", `/projects/${project.id}`, { token, body: { name: "Renamed" } })
        expect(renamed.status, renamed.text).toBe(200)
        expect(yield* names).toEqual(["Second", "Renamed"])
        const read = yield* request("GET", `/projects/${project.id}`, { token: reader })
        expect((read.json as ProjectJson).name).toBe("Renamed")
        expect((yield* request("DELETE", `/projects/${project.id}`, { token })).status).toBe(204)
        expect(yield* names).toEqual(["Second"])

        const survivor = yield* created(token, "Survivor")
        expect((yield* request("GET", `/projects/${survivor.id}`, { token: reader })).status).toBe(200)
        expect(yield* names).toEqual(["Survivor", "Second"])
        const deletion = yield* request("DELETE", "/users/account", { token, body: { password: owner.password } })
        expect(deletion.status, deletion.text).toBe(204)
        expectProblem(yield* request("GET", `/projects/${survivor.id}`, { token: reader }), 404, "not-found")
        expect(yield* names).toEqual([])
      })
    )

    it.effect("validates names, descriptions, unknown fields, ids and limits", () =>
      Effect.gen(function* () {
        const token = (yield* register()).auth.accessToken
        for (const body of [
          { name: "   " },
          { name: "x".repeat(256) },
          { name: "ok", description: "d".repeat(10_001) },
          { name: "ok", ownerId: "00000000-0000-4000-8000-000000000000" },
          {}
        ]) {
          expectProblem(yield* create(token, body), 400, "validation-failed")
        }
        expectProblem(yield* request("GET", "/projects/not-a-uuid", { token }), 400)
        for (const limit of ["0", "101", "ten"]) {
          expectProblem(yield* request("GET", `/projects?limit=${limit}`, { token }), 400, "validation-failed")
        }
        const project = yield* created(token, "Valid")
        expectProblem(
          yield* request("PATCH", `/projects/${project.id}`, { token, body: { name: "" } }),
          400,
          "validation-failed"
        )
      })
    )

    const roles: ReadonlyArray<Role> = ["guest", "user", "moderator", "admin"]
    for (const role of roles) {
      const mayCreate = role !== "guest"
      const mayChangeAny = role === "moderator" || role === "admin"
      it.effect(
        `${role}: reads every project; ${mayCreate ? "creates" : "may not create"}; ${mayChangeAny ? "changes and deletes any" : "may not change others'"}`,
        () =>
          Effect.gen(function* () {
            const owner = yield* register()
            const theirs = yield* created(owner.auth.accessToken, `Owned by someone else, seen by a ${role}`)
            const account = yield* accountWithRole(role)
            const token = account.auth.accessToken

            expect((yield* request("GET", "/projects?limit=5", { token })).status).toBe(200)
            expect((yield* request("GET", `/projects/${theirs.id}`, { token })).status).toBe(200)

            const creation = yield* create(token, { name: `A ${role}'s project` })
            if (mayCreate) {
              expect(creation.status).toBe(201)
              const own = creation.json as ProjectJson
              expect(own.ownerId).toBe(account.auth.user.id)
              const ownUpdate = yield* request("PATCH", `/projects/${own.id}`, { token, body: { name: "Mine" } })
              expect(ownUpdate.status).toBe(200)
              expect((yield* request("DELETE", `/projects/${own.id}`, { token })).status).toBe(204)
            } else {
              expectProblem(creation, 403, "forbidden")
            }

            const update = yield* request("PATCH", `/projects/${theirs.id}`, { token, body: { name: "Taken over" } })
            const removal = yield* request("DELETE", `/projects/${theirs.id}`, { token })
            if (mayChangeAny) {
              expect(update.status).toBe(200)
              expect(removal.status).toBe(204)
            } else {
              expectProblem(update, 403, "forbidden")
              expectProblem(removal, 403, "forbidden")
              const unchanged = yield* request("GET", `/projects/${theirs.id}`, { token })
              expect(unchanged.json).toMatchObject({ name: theirs.name })
            }

            if (role === "guest") {
              // Demoted to guest, an owner keeps their projects but may no longer change them.
              const demoted = yield* register()
              const own = yield* created(demoted.auth.accessToken, "Before the demotion")
              const admin = yield* apiClient((yield* loginAdmin).accessToken)
              yield* admin.admin.updateUser({ path: { id: demoted.auth.user.id }, payload: { role: "guest" } })
              const demotedToken = demoted.auth.accessToken
              expectProblem(
                yield* request("PATCH", `/projects/${own.id}`, { token: demotedToken, body: { name: "x" } }),
                403
              )
              expectProblem(yield* request("DELETE", `/projects/${own.id}`, { token: demotedToken }), 403)
            }
          })
      )
    }

    it.effect(
      "pages through 250 projects with no duplicate and no gap while others are inserted between pages",
      () =>
        Effect.gen(function* () {
          const owner = yield* register()
          const token = owner.auth.accessToken
          const originals = yield* Effect.forEach(
            Array.from({ length: 250 }, (_, i) => `Paged ${String(i).padStart(3, "0")}`),
            (name) => created(token, name),
            { concurrency: 8 }
          )
          const originalIds = new Set(originals.map((project) => project.id))
          let inserted = 0
          const insertOne = Effect.suspend(() => created(token, `Inserted while paging ${inserted++}`))
          const insertMany = Effect.forEach(Array.from({ length: 3 }), () => insertOne, { concurrency: 3 })

          // New projects are newer than every cursor, so a keyset page never shifts: the 250 come back exactly.
          const byOwner = yield* allPages(token, `ownerId=${owner.auth.user.id}&limit=7`, insertMany)
          expect(byOwner.pages).toBe(Math.ceil(250 / 7))
          const pagedIds = byOwner.items.map((project) => project.id)
          expect(new Set(pagedIds).size).toBe(pagedIds.length)
          expect([...pagedIds].sort()).toEqual([...originalIds].sort())
          expect(newestFirst(byOwner.items)).toBe(true)
          expect(inserted).toBeGreaterThanOrEqual(3 * byOwner.pages)

          // The whole table, which other tests' projects share: each original exactly once, newest first.
          const everything = yield* allPages(token, "limit=100", insertMany)
          const ids = everything.items.map((project) => project.id)
          expect(new Set(ids).size).toBe(ids.length)
          expect(ids.filter((id) => originalIds.has(id))).toHaveLength(250)
          expect(newestFirst(everything.items)).toBe(true)
        }),
      { timeout: 180_000 }
    )

    it.effect("searches names case-insensitively with q, taking % and _ literally", () =>
      Effect.gen(function* () {
        const owner = yield* register()
        const token = owner.auth.accessToken
        const names = ["Alpha Centauri", "alphabet soup", "ALPHA", "Beta", "100% pure", "snake_case", "snakeXcase"]
        yield* Effect.forEach(names, (name) => created(token, name))
        const search = (q: string) =>
          Effect.map(
            request("GET", `/projects?ownerId=${owner.auth.user.id}&q=${encodeURIComponent(q)}`, { token }),
            (response) => {
              expect(response.status, response.text).toBe(200)
              return (response.json as PageJson).items.map((project) => project.name).sort()
            }
          )
        expect(yield* search("alpha")).toEqual(["ALPHA", "Alpha Centauri", "alphabet soup"])
        expect(yield* search("HA c")).toEqual(["Alpha Centauri"])
        expect(yield* search("%")).toEqual(["100% pure"])
        expect(yield* search("_")).toEqual(["snake_case"])
        expect(yield* search("nothing like it")).toEqual([])
        expectProblem(yield* request("GET", "/projects?q=", { token }), 400)
      })
    )

    it.effect("refuses a tampered or garbage cursor with 400", () =>
      Effect.gen(function* () {
        const owner = yield* register()
        const token = owner.auth.accessToken
        yield* Effect.forEach(["c1", "c2", "c3"], (name) => created(token, name))
        const first = yield* request("GET", `/projects?ownerId=${owner.auth.user.id}&limit=1`, { token })
        const cursor = (first.json as PageJson).nextCursor ?? ""
        const decoded = Buffer.from(cursor, "base64url").toString()
        const cursors = [
          "garbage",
          "%%%",
          cursor.slice(0, -3),
          Buffer.from(decoded.replace(/"[0-9a-f-]{36}"/, '"not-a-uuid"')).toString("base64url"),
          Buffer.from(JSON.stringify({ createdAt: "x" })).toString("base64url"),
          ...["not a timestamp", "2025-02-30 10:00:00+00", "2025-01-01 25:00:00+00"].map((at) =>
            Buffer.from(JSON.stringify([at, "00000000-0000-4000-8000-000000000000"])).toString("base64url")
          ),
          "A".repeat(201)
        ]
        for (const bad of cursors) {
          const response = yield* request("GET", `/projects?cursor=${encodeURIComponent(bad)}`, { token })
          expectProblem(response, 400)
        }
        expect((yield* request("GET", `/projects?cursor=${encodeURIComponent(cursor)}`, { token })).status).toBe(200)
      })
    )

    it.effect("answers If-None-Match with 304 until the project changes", () =>
      Effect.gen(function* () {
        const token = (yield* register()).auth.accessToken
        const project = yield* created(token, "Cached")
        const first = yield* request("GET", `/projects/${project.id}`, { token })
        const etag = first.headers.get("etag") ?? ""
        expect(etag).toMatch(/^"[\w-]+"$/)
        const again = yield* request("GET", `/projects/${project.id}`, { token, headers: { "if-none-match": etag } })
        expect(again.status).toBe(304)
        expect(again.headers.get("etag")).toBe(etag)
        expect(again.text).toBe("")

        yield* request("PATCH", `/projects/${project.id}`, { token, body: { name: "Changed" } })
        const changed = yield* request("GET", `/projects/${project.id}`, { token, headers: { "if-none-match": etag } })
        expect(changed.status).toBe(200)
        expect(changed.json).toMatchObject({ name: "Changed" })
        expect(changed.headers.get("etag")).not.toBe(etag)
      })
    )

    it.effect("deleting a project deletes its files, and the purge removes their stored objects", () =>
      Effect.gen(function* () {
        const token = (yield* register()).auth.accessToken
        const project = yield* created(token, "Doomed")
        const fileIds = yield* Effect.forEach([1, 2, 3], (i) =>
          Effect.map(
            send(`/projects/${project.id}/files?name=f${i}.bin`, {
              method: "POST",
              token,
              headers: { "content-type": "application/octet-stream" },
              body: randomBytes(70_000 * i)
            }),
            (response) => {
              expect(response.status, response.text).toBe(201)
              return (response.json as { id: string }).id
            }
          )
        )
        const { storage, sql } = yield* Backstage
        const keys = fileIds.map((id) => `projects/${project.id}/files/${id}`)
        for (const key of keys) expect(Option.isSome(yield* storage.head(key))).toBe(true)

        expect((yield* request("DELETE", `/projects/${project.id}`, { token })).status).toBe(204)
        for (const id of fileIds) {
          expect((yield* send(`/files/${id}`, { token })).status).toBe(404)
          expect((yield* send(`/files/${id}/content`, { token })).status).toBe(404)
        }
        expect((yield* send(`/projects/${project.id}/files`, { token })).status).toBe(404)
        const [rows] = yield* sql<{ n: number }>`select count(*)::int as n from files where project_id = ${project.id}`
        expect(rows?.n).toBe(0)
        yield* Effect.forEach(keys, (key) =>
          storage.head(key).pipe(
            Effect.filterOrFail(Option.isNone, () => new Error(`${key} is still stored`)),
            Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 300 }),
            Effect.orDie
          )
        )
      })
    )

    it.effect("leaks nothing internal in any response body", () =>
      Effect.sync(() => expectNothingLeaked(responseBodies))
    )
  })
})

const databaseUrl = serviceUrl("TEST_DATABASE_URL")

const allMigrations = Layer.unwrapEffect(
  Effect.map(migrationsOf(coreMigrations, coreModules), makeMigrationsLive).pipe(Effect.orDie)
)

const databases: ReadonlyArray<readonly [string, Layer.Layer<SqlClient.SqlClient>]> = [
  ["PGlite", makePgliteClient(tempDir("explain")).pipe(Layer.orDie)],
  ...(databaseUrl === undefined
    ? []
    : [
        [
          "PostgreSQL",
          Layer.unwrapScoped(
            Effect.map(freshPostgresDatabase(databaseUrl), (url) =>
              makePostgresClient({ url: Redacted.make(url), maxConnections: 2 })
            )
          ).pipe(Layer.orDie)
        ] as const
      ])
]

interface PlanNode {
  readonly "Node Type": string
  readonly "Relation Name"?: string
  readonly "Index Name"?: string
  readonly Plans?: ReadonlyArray<PlanNode>
}

const nodesOf = (node: PlanNode): ReadonlyArray<PlanNode> => [node, ...(node.Plans ?? []).flatMap(nodesOf)]

const OWNER = "00000000-0000-4000-8000-0000000000a1"
const PROJECT = "00000000-0000-4000-8001-000000000001"
const AFTER = ["2025-06-01 00:00:00+00", "00000000-0000-4000-8000-000000000000"] as const

/** The hot queries as the services write them (Projects, Files), with their parameters. */
const hotQueries: ReadonlyArray<readonly [string, string, ReadonlyArray<unknown>]> = [
  [
    "list newest",
    "select *, created_at::text as cursor_at from projects where 1=1 order by created_at desc, id desc limit 21",
    []
  ],
  [
    "list newest, next page",
    `select *, created_at::text as cursor_at from projects where ((created_at, id) < ($1::timestamptz, $2))
     order by created_at desc, id desc limit 21`,
    AFTER
  ],
  [
    "list by owner",
    `select *, created_at::text as cursor_at from projects where (owner_id = $1)
     order by created_at desc, id desc limit 21`,
    [OWNER]
  ],
  [
    "list by owner, next page",
    `select *, created_at::text as cursor_at from projects where (owner_id = $1 AND (created_at, id) < ($2::timestamptz, $3))
     order by created_at desc, id desc limit 21`,
    [OWNER, ...AFTER]
  ],
  [
    "list by q (rare)",
    `select *, created_at::text as cursor_at from projects where (name ilike $1)
     order by created_at desc, id desc limit 21`,
    ["%needle-4242%"]
  ],
  [
    "list by q (common)",
    `select *, created_at::text as cursor_at from projects where (name ilike $1)
     order by created_at desc, id desc limit 21`,
    ["%project%"]
  ],
  ["get by id", "select * from projects where id = $1", [PROJECT]],
  [
    "files by project",
    `select *, created_at::text as cursor_at from files where (project_id = $1)
     order by created_at desc, id desc limit 21`,
    [PROJECT]
  ],
  [
    "files by project, next page",
    `select *, created_at::text as cursor_at from files where (project_id = $1 AND (created_at, id) < ($2::timestamptz, $3))
     order by created_at desc, id desc limit 21`,
    [PROJECT, ...AFTER]
  ],
  ["file by id", "select * from files where id = $1", [PROJECT]],
  ["storage keys of a project", "select storage_key from files where project_id = $1", [PROJECT]]
]

describe.each(databases)("Project and file queries on %s", (_, client) => {
  layer(allMigrations.pipe(Layer.provideMerge(client)), { timeout: "300 seconds", excludeTestServices: true })((it) => {
    it.effect(
      "use an index, never a sequential scan of projects or files, with 10,000 rows in each",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* sql`insert into users (id, email, password_hash)
              select ('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, 'owner' || i || '@example.com', 'x'
              from generate_series(161, 260) as i`
          yield* sql`insert into projects (id, name, owner_id, created_at)
              select ('00000000-0000-4000-8001-' || lpad(to_hex(i), 12, '0'))::uuid,
                'project ' || case when i = 4242 then 'needle-4242' else md5(i::text) end,
                ('00000000-0000-4000-8000-' || lpad(to_hex(161 + i % 100), 12, '0'))::uuid,
                timestamptz '2025-01-01' + i * interval '1 hour'
              from generate_series(1, 10000) as i`
          yield* sql`insert into files (project_id, name, content_type, size, sha256, storage_key, created_at)
              select ('00000000-0000-4000-8001-' || lpad(to_hex(1 + i % 1000), 12, '0'))::uuid, 'file ' || i,
                'text/plain', i, md5(i::text) || md5(i::text), 'projects/x/files/' || i,
                timestamptz '2025-01-01' + i * interval '1 minute'
              from generate_series(1, 10000) as i`
          yield* sql`analyze projects`
          yield* sql`analyze files`
          const [counts] = yield* sql<{ projects: number; files: number }>`
              select (select count(*)::int from projects) as projects, (select count(*)::int from files) as files`
          expect(counts).toEqual({ projects: 10_000, files: 10_000 })

          for (const [name, query, params] of hotQueries) {
            const [row] = yield* sql.unsafe<Record<string, unknown>>(`explain (format json) ${query}`, params)
            const value = Object.values(row ?? {})[0]
            const [{ Plan }] = (typeof value === "string" ? JSON.parse(value) : value) as [{ Plan: PlanNode }]
            const nodes = nodesOf(Plan)
            const scans = nodes.filter(
              (node) => node["Node Type"] === "Seq Scan" && ["projects", "files"].includes(node["Relation Name"] ?? "")
            )
            expect(scans, `${name}: ${JSON.stringify(Plan)}`).toEqual([])
            expect(
              nodes.some((node) => node["Index Name"] !== undefined),
              `${name} uses an index: ${JSON.stringify(Plan)}`
            ).toBe(true)
          }
        }),
      { timeout: 240_000 }
    )
  })
})
