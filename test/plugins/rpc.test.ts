import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { AuditRpcs, WebhooksRpcs } from "../../src/plugins/client.js"
import { makeClient } from "../../src/rpc/client.js"
import { accountWithRole, loginAdmin, register } from "../identity/harness.js"
import { raw, TestServer } from "../support/server.js"
import { backends, FAST_RETRIES, pluginServer, waitFor } from "./harness.js"

/** The RPC layer is the same on every backend; the plugins' storage is covered per backend by their own suites. */
const backend = backends[backends.length - 1]!

const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })

/** Nothing listens on the discard port, so each delivery fails fast and stays in the log for redelivery. */
const UNREACHABLE = "http://127.0.0.1:9/hook"

const pluginClient = (transport: "http" | "websocket") =>
  Effect.flatMap(TestServer, ({ url }) => makeClient({ url, transport, plugins: [AuditRpcs, WebhooksRpcs] }))

/** One raw NDJSON call to /rpc, answered with its exit as the wire carries it. */
const rawCall = (tag: string, payload: unknown, token: string) =>
  Effect.flatMap(TestServer, ({ url }) =>
    Effect.map(
      raw(`${url}/rpc`, {
        method: "POST",
        headers: { "content-type": "application/ndjson" },
        body: `${JSON.stringify({ _tag: "Request", id: "1", tag, payload, headers: [["authorization", `Bearer ${token}`]] })}\n`
      }),
      (response) => {
        expect(response.status, response.text).toBe(200)
        return response.text
          .split("\n")
          .filter((line) => line !== "")
          .map((line) => JSON.parse(line) as Record<string, unknown>)
      }
    )
  )

layer(
  pluginServer(backend, {
    plugins: ["audit", "webhooks"],
    env: { PLUGIN_WEBHOOKS_ALLOW_PRIVATE: "true", ...FAST_RETRIES }
  }),
  { timeout: "120 seconds", excludeTestServices: true }
)(`Plugin RPCs with PLUGINS=audit,webhooks: ${backend.name}`, (it) => {
  for (const transport of ["http", "websocket"] as const) {
    it.scoped(`audit.list and audit.verify over ${transport} answer as GET /admin/audit does`, () =>
      Effect.gen(function* () {
        const client = yield* pluginClient(transport)
        const admin = (yield* loginAdmin).accessToken
        const owner = yield* register()
        const actor = owner.auth.user.id
        yield* client.projects.create({ name: "Audited" }, as(owner.auth.accessToken))

        const all = yield* waitFor(
          client.audit.list({ actor }, as(admin)),
          (page) => page.items.length === 2,
          "the user's two events"
        )
        expect(all.items.map((entry) => entry.type)).toEqual(["project.created", "user.registered"])
        expect(all.items.every((entry) => entry.actor === actor)).toBe(true)

        const moderator = (yield* accountWithRole("moderator")).auth.accessToken
        const seen = yield* client.audit.list({ actor }, as(moderator))
        expect(seen.items.map((entry) => entry.type)).toEqual(["project.created"])

        const userRefused = yield* Effect.flip(client.audit.list({}, as(owner.auth.accessToken)))
        expect(userRefused).toMatchObject({ _tag: "Forbidden", detail: "Your role (user) may not read the audit log" })
        const moderatorRefused = yield* Effect.flip(client.audit.verify(undefined, as(moderator)))
        expect(moderatorRefused._tag).toBe("Forbidden")
        expect((yield* Effect.flip(client.audit.list({})))._tag).toBe("Unauthorized")
        expect((yield* Effect.flip(client.audit.list({ cursor: "forged" }, as(admin))))._tag).toBe("ValidationFailed")

        const report = yield* client.audit.verify(undefined, as(admin))
        expect(report).toMatchObject({ intact: true, firstBroken: null })
        expect(report.checked).toBeGreaterThanOrEqual(2)
      })
    )

    it.scoped(`webhooks.* over ${transport} manage a project's endpoints and their deliveries`, () =>
      Effect.gen(function* () {
        const client = yield* pluginClient(transport)
        const owner = (yield* register()).auth.accessToken
        const project = yield* client.projects.create({ name: "Hooked" }, as(owner))
        const projectId = project.id

        const created = yield* client.webhooks.create(
          { projectId, url: UNREACHABLE, events: ["project.updated"] },
          as(owner)
        )
        expect(created).toMatchObject({ projectId, url: UNREACHABLE, events: ["project.updated"] })
        expect(created.secret).toMatch(/^whsec_/)
        const listed = yield* client.webhooks.list({ projectId }, as(owner))
        expect(listed.items.map((webhook) => webhook.id)).toEqual([created.id])
        expect(listed.items[0]).not.toHaveProperty("secret")

        const stranger = (yield* register()).auth.accessToken
        const guest = (yield* accountWithRole("guest")).auth.accessToken
        expect((yield* Effect.flip(client.webhooks.list({ projectId }, as(stranger))))._tag).toBe("Forbidden")
        expect(yield* Effect.flip(client.webhooks.list({ projectId }, as(guest)))).toMatchObject({
          _tag: "Forbidden",
          detail: "Your role (guest) may not manage webhooks"
        })

        yield* client.projects.update({ id: projectId, name: "Hooked, renamed" }, as(owner))
        const webhookId = created.id
        const page = yield* waitFor(
          client.webhooks.deliveries({ projectId, webhookId, limit: 10 }, as(owner)),
          (page) => page.items.length === 1 && page.items[0]?.status === "failed",
          "the failed delivery of project.updated"
        )
        const [delivery] = page.items
        expect(delivery).toMatchObject({ webhookId, eventType: "project.updated", attempts: 4 })

        const redelivered = yield* client.webhooks.redeliver(
          { projectId, webhookId, deliveryId: delivery!.id },
          as(owner)
        )
        expect(redelivered).toMatchObject({ id: delivery!.id, status: "pending" })
        const unknown = yield* Effect.flip(
          client.webhooks.redeliver({ projectId, webhookId, deliveryId: crypto.randomUUID() }, as(owner))
        )
        expect(unknown._tag).toBe("NotFound")

        yield* client.webhooks.remove({ projectId, webhookId }, as(owner))
        expect((yield* client.webhooks.list({ projectId }, as(owner))).items).toEqual([])
        expect((yield* Effect.flip(client.webhooks.remove({ projectId, webhookId }, as(owner))))._tag).toBe("NotFound")
      })
    )
  }

  it.scoped("a payload that does not match the plugin's schema gets ValidationFailed naming the field", () =>
    Effect.gen(function* () {
      const owner = (yield* register()).auth.accessToken
      const [answer] = yield* rawCall(
        "webhooks.create",
        { projectId: crypto.randomUUID(), url: UNREACHABLE, events: [] },
        owner
      )
      expect(answer).toMatchObject({
        _tag: "Exit",
        exit: {
          _tag: "Failure",
          cause: {
            _tag: "Fail",
            error: {
              _tag: "ValidationFailed",
              errors: [{ path: "events", message: "must name at least one event type" }]
            }
          }
        }
      })
    })
  )
})

layer(pluginServer(backend, { plugins: [] }), { timeout: "120 seconds", excludeTestServices: true })(
  `Plugin RPCs with no plugins: ${backend.name}`,
  (it) => {
    it.scoped("the plugins' RPC tags are unknown: NotFound, as for any tag no module serves", () =>
      Effect.gen(function* () {
        const admin = (yield* loginAdmin).accessToken
        for (const tag of ["audit.list", "audit.verify", "webhooks.list"]) {
          const [answer] = yield* rawCall(tag, tag === "webhooks.list" ? { projectId: crypto.randomUUID() } : {}, admin)
          expect(answer).toMatchObject({
            _tag: "Exit",
            exit: {
              _tag: "Failure",
              cause: { _tag: "Fail", error: { _tag: "NotFound", detail: `No RPC named ${tag}` } }
            }
          })
        }
        // A typed client made with a plugin's group gets the same NotFound where the RPC declares it.
        const client = yield* pluginClient("http")
        const projects = yield* client.projects.list({ limit: 1 }, as(admin))
        expect(projects.items.length).toBeLessThanOrEqual(1)
        const missing = yield* Effect.flip(client.webhooks.list({ projectId: crypto.randomUUID() }, as(admin)))
        expect(missing).toMatchObject({ _tag: "NotFound", detail: "No RPC named webhooks.list" })
      })
    )
  }
)
