import { describe, expect, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { canonicalJson, redact } from "../../src/plugins/audit/redact.js"
import { accountWithRole, expectProblem, loginAdmin, register, request } from "../identity/harness.js"
import { backends, Database, pluginServer, waitFor } from "./harness.js"

interface Entry {
  readonly seq: number
  readonly eventId: string
  readonly type: string
  readonly actor: string | null
  readonly projectId: string | null
  readonly ip: string | null
  readonly requestId: string | null
  readonly before: Record<string, unknown> | null
  readonly after: Record<string, unknown> | null
  readonly details: Record<string, unknown>
}
interface Page {
  readonly items: ReadonlyArray<Entry>
  readonly nextCursor: string | null
}
interface Report {
  readonly intact: boolean
  readonly checked: number
  readonly firstBroken: { readonly seq: number; readonly eventId: string | null; readonly reason: string } | null
}

const auditPage = (token: string, query = "") =>
  Effect.map(request("GET", `/admin/audit${query}`, { token }), (response) => {
    expect(response.status, response.text).toBe(200)
    return response.json as Page
  })

const verify = (token: string) =>
  Effect.map(request("GET", "/admin/audit/verify", { token }), (response) => {
    expect(response.status, response.text).toBe(200)
    return response.json as Report
  })

/** A project of a fresh user, created and renamed under a request id of the test's choosing. */
const renamedProject = (requestId: string) =>
  Effect.gen(function* () {
    const owner = yield* register()
    const token = owner.auth.accessToken
    const created = yield* request("POST", "/projects", { token, body: { name: "Before" } })
    const projectId = (created.json as { id: string }).id
    const renamed = yield* request("PATCH", `/projects/${projectId}`, {
      token,
      body: { name: "After" },
      headers: { "x-request-id": requestId }
    })
    expect(renamed.status, renamed.text).toBe(200)
    return { owner, projectId }
  })

describe("Audit redaction", () => {
  it("redacts secrets and pseudonymises emails at any depth, and hashes the same value the same way", () => {
    const redacted = redact({
      email: "Ada@Example.com",
      password: "hunter2",
      profile: { apiKey: "k-123", newEmail: "ada@example.com", name: "Ada" },
      sessions: [{ refreshToken: "r-1", id: 1 }],
      keys: ["projects/p/files/f"]
    })
    expect(redacted).toEqual({
      email: expect.stringMatching(/^sha256:[0-9a-f]{24}$/),
      password: "[redacted]",
      profile: { apiKey: "[redacted]", newEmail: (redacted as { email: string }).email, name: "Ada" },
      sessions: [{ refreshToken: "[redacted]", id: 1 }],
      keys: ["projects/p/files/f"]
    })
    expect(JSON.stringify(redacted)).not.toMatch(/hunter2|k-123|r-1|ada@/i)
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 3, e: 4 }], c: null } })).toBe(
      canonicalJson({ a: { c: null, d: [2, { e: 4, f: 3 }] }, b: 1 })
    )
  })
})

for (const backend of backends) {
  layer(pluginServer(backend, { plugins: ["audit"] }), { timeout: "120 seconds", excludeTestServices: true })(
    `Audit plugin: ${backend.name}`,
    (it) => {
      it.effect("records who did what, when, from where, with the change and no secrets", () =>
        Effect.gen(function* () {
          const admin = (yield* loginAdmin).accessToken
          const requestId = `audit-${crypto.randomUUID()}`
          const { owner, projectId } = yield* renamedProject(requestId)
          const userId = owner.auth.user.id

          const page = yield* waitFor(
            auditPage(admin, `?actor=${userId}&type=project.updated`),
            (page) => page.items.length === 1,
            "the project.updated entry"
          )
          const [entry] = page.items
          expect(entry).toMatchObject({
            type: "project.updated",
            actor: userId,
            projectId,
            requestId,
            before: { name: "Before" },
            after: { name: "After" }
          })
          expect(entry?.ip).toMatch(/127\.0\.0\.1|::1/)

          const registered = yield* waitFor(
            auditPage(admin, `?actor=${userId}&type=user.registered`),
            (page) => page.items.length === 1,
            "the user.registered entry"
          )
          const details = JSON.stringify(registered.items[0]?.details)
          expect(details).not.toContain(owner.email)
          expect(registered.items[0]?.details["email"]).toMatch(/^sha256:[0-9a-f]{24}$/)
        })
      )

      it.effect("pages newest first with filters; moderators see project events only, users nothing", () =>
        Effect.gen(function* () {
          const admin = (yield* loginAdmin).accessToken
          const { owner } = yield* renamedProject(`audit-${crypto.randomUUID()}`)
          const actor = owner.auth.user.id
          const all = yield* waitFor(
            auditPage(admin, `?actor=${actor}`),
            (page) => page.items.length === 3,
            "the user's three events"
          )
          expect(all.items.map((entry) => entry.type)).toEqual([
            "project.updated",
            "project.created",
            "user.registered"
          ])

          const first = yield* auditPage(admin, `?actor=${actor}&limit=2`)
          expect(first.items.map((entry) => entry.seq)).toEqual(all.items.slice(0, 2).map((entry) => entry.seq))
          const second = yield* auditPage(admin, `?actor=${actor}&limit=2&cursor=${first.nextCursor}`)
          expect(second.items.map((entry) => entry.seq)).toEqual([all.items[2]?.seq])
          expect(second.nextCursor).toBeNull()

          const future = yield* auditPage(admin, `?actor=${actor}&from=2999-01-01T00:00:00Z`)
          expect(future.items).toEqual([])

          const moderator = yield* accountWithRole("moderator")
          const seen = yield* auditPage(moderator.auth.accessToken, `?actor=${actor}`)
          expect(seen.items.map((entry) => entry.type)).toEqual(["project.updated", "project.created"])

          expectProblem(yield* request("GET", "/admin/audit", { token: owner.auth.accessToken }), 403, "forbidden")
          expectProblem(yield* request("GET", "/admin/audit/verify", { token: moderator.auth.accessToken }), 403)
          expectProblem(yield* request("GET", "/admin/audit?from=yesterday", { token: admin }), 400)
          expectProblem(yield* request("GET", "/admin/audit?cursor=forged", { token: admin }), 400)
        })
      )

      it.effect("is append-only, and verification finds the first row changed behind its back", () =>
        Effect.gen(function* () {
          const admin = (yield* loginAdmin).accessToken
          const sql = yield* Database
          yield* renamedProject(`audit-${crypto.randomUUID()}`)
          yield* waitFor(
            sql<{ total: number }>`select count(*)::int as total from audit_log where type = 'project.updated'`,
            ([row]) => (row?.total ?? 0) >= 1,
            "a recorded update"
          )
          const intact = yield* verify(admin)
          expect(intact).toMatchObject({ intact: true, firstBroken: null })
          expect(intact.checked).toBeGreaterThan(2)

          const refused = yield* Effect.flip(sql`update audit_log set ip = '203.0.113.9' where seq = 2`)
          expect(String(refused.cause)).toContain("append-only")

          // An attacker with the database's owner rights switches the guard off and rewrites history.
          const [target] = yield* sql<{ seq: string; eventId: string; ip: string | null }>`
            select seq, event_id, ip from audit_log where type = 'project.updated' order by seq limit 1`
          yield* sql`alter table audit_log disable trigger audit_log_append_only`
          yield* sql`update audit_log set ip = '203.0.113.9' where seq = ${Number(target?.seq)}`
          const broken = yield* verify(admin)
          expect(broken.intact).toBe(false)
          expect(broken.firstBroken).toEqual({
            seq: Number(target?.seq),
            eventId: target?.eventId,
            reason: "its contents were changed"
          })

          yield* sql`update audit_log set ip = ${target?.ip ?? null} where seq = ${Number(target?.seq)}`
          yield* sql`alter table audit_log enable trigger audit_log_append_only`
          expect((yield* verify(admin)).intact).toBe(true)
        })
      )
    }
  )

  layer(
    pluginServer(backend, {
      plugins: ["audit"],
      env: { PLUGIN_AUDIT_RETENTION: "1 second", PLUGIN_AUDIT_PRUNE_INTERVAL: "200 millis" }
    }),
    { timeout: "120 seconds", excludeTestServices: true }
  )(`Audit plugin retention: ${backend.name}`, (it) => {
    it.effect("prunes rows past the retention period and what remains still verifies", () =>
      Effect.gen(function* () {
        const admin = (yield* loginAdmin).accessToken
        const sql = yield* Database
        const anchor = sql<{ anchorSeq: string }>`select anchor_seq from audit_chain`
        yield* renamedProject(`audit-${crypto.randomUUID()}`)
        yield* waitFor(anchor, ([row]) => Number(row?.anchorSeq) >= 3, "the first rows to be pruned")
        expect((yield* verify(admin)).intact).toBe(true)

        yield* renamedProject(`audit-${crypto.randomUUID()}`)
        const kept = yield* waitFor(
          sql<{ seq: string }>`select seq from audit_log where type = 'project.updated'`,
          (rows) => rows.length === 1,
          "the newest update"
        )
        expect(Number(kept[0]?.seq)).toBeGreaterThan(Number((yield* anchor)[0]?.anchorSeq))
        expect((yield* verify(admin)).intact).toBe(true)
      })
    )
  })
}
