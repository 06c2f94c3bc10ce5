import { createHmac, timingSafeEqual } from "node:crypto"
import { createServer, type IncomingHttpHeaders } from "node:http"
import { expect, layer } from "@effect/vitest"
import { Context, Duration, Effect, Layer } from "effect"
import { send } from "../../src/plugins/webhooks/sender.js"
import { accountWithRole, expectProblem, fieldPaths, loginAdmin, register, request } from "../identity/harness.js"
import { backends, Database, FAST_RETRIES, pluginServer, waitFor } from "./harness.js"

interface Received {
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

/** A real HTTP endpoint on 127.0.0.1 that answers 500 to the first `failures` requests of each path. */
class Receiver extends Context.Tag("test/Receiver")<
  Receiver,
  {
    readonly url: string
    readonly received: Array<Received>
    readonly failFirst: (path: string, failures: number) => void
  }
>() {
  static readonly layer = Layer.scoped(
    Receiver,
    Effect.acquireRelease(
      Effect.async<{
        url: string
        received: Array<Received>
        failFirst: (p: string, n: number) => void
        close: () => void
      }>((resume) => {
        const received: Array<Received> = []
        const failuresLeft = new Map<string, number>()
        const server = createServer((req, res) => {
          const chunks: Array<Buffer> = []
          req.on("data", (chunk: Buffer) => chunks.push(chunk))
          req.on("end", () => {
            const path = req.url ?? "/"
            received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") })
            const left = failuresLeft.get(path) ?? 0
            failuresLeft.set(path, left - 1)
            res.writeHead(left > 0 ? 500 : 204).end(left > 0 ? "not yet" : undefined)
          })
        })
        server.listen(0, "127.0.0.1", () => {
          const address = server.address()
          const port = typeof address === "object" && address !== null ? address.port : 0
          resume(
            Effect.succeed({
              url: `http://127.0.0.1:${port}`,
              received,
              failFirst: (path, failures) => void failuresLeft.set(path, failures),
              close: () => server.close()
            })
          )
        })
      }),
      (receiver) => Effect.sync(receiver.close)
    )
  )
}

/** Standard Webhooks verification, written from the specification with node:crypto alone. */
const verifySignature = (secret: string, headers: IncomingHttpHeaders, body: string) => {
  const id = String(headers["webhook-id"])
  const timestamp = String(headers["webhook-timestamp"])
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64")
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest()
  return String(headers["webhook-signature"])
    .split(" ")
    .some((signature) => {
      const [version, value] = signature.split(",")
      const given = Buffer.from(value ?? "", "base64")
      return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected)
    })
}

interface Created {
  readonly id: string
  readonly secret: string
  readonly url: string
  readonly events: ReadonlyArray<string>
}
interface Delivery {
  readonly id: string
  readonly status: string
  readonly attempts: number
  readonly lastStatusCode: number | null
  readonly eventType: string
}

const ownProject = Effect.gen(function* () {
  const owner = yield* register()
  const token = owner.auth.accessToken
  const created = yield* request("POST", "/projects", { token, body: { name: "Hooked" } })
  expect(created.status, created.text).toBe(201)
  return { owner, token, projectId: (created.json as { id: string }).id }
})

const createWebhook = (token: string, projectId: string, url: string, events = ["project.updated"]) =>
  Effect.map(request("POST", `/projects/${projectId}/webhooks`, { token, body: { url, events } }), (response) => {
    expect(response.status, response.text).toBe(201)
    return response.json as Created
  })

const rename = (token: string, projectId: string, name: string) =>
  Effect.map(request("PATCH", `/projects/${projectId}`, { token, body: { name } }), (response) =>
    expect(response.status, response.text).toBe(200)
  )

const deliveries = (token: string, projectId: string, webhookId: string) =>
  Effect.map(request("GET", `/projects/${projectId}/webhooks/${webhookId}/deliveries`, { token }), (response) => {
    expect(response.status, response.text).toBe(200)
    return (response.json as { items: ReadonlyArray<Delivery> }).items
  })

for (const backend of backends) {
  layer(
    Layer.merge(
      pluginServer(backend, { plugins: ["webhooks"], env: { PLUGIN_WEBHOOKS_ALLOW_PRIVATE: "true", ...FAST_RETRIES } }),
      Receiver.layer
    ),
    { timeout: "120 seconds", excludeTestServices: true }
  )(`Webhooks plugin: ${backend.name}`, (it) => {
    it.effect("shows the secret once, keeps it encrypted, and signs deliveries in the Standard Webhooks format", () =>
      Effect.gen(function* () {
        const receiver = yield* Receiver
        const sql = yield* Database
        const { token, projectId } = yield* ownProject
        const webhook = yield* createWebhook(token, projectId, `${receiver.url}/signed`)
        expect(webhook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)

        const listed = yield* request("GET", `/projects/${projectId}/webhooks`, { token })
        expect(listed.json).toMatchObject({ items: [{ id: webhook.id, events: ["project.updated"] }] })
        expect(listed.text).not.toContain(webhook.secret)
        const [stored] = yield* sql<{ secretCiphertext: string }>`
          select secret_ciphertext from webhook_endpoints where id = ${webhook.id}`
        expect(stored?.secretCiphertext).not.toContain(webhook.secret.slice(6))

        yield* rename(token, projectId, "Renamed")
        const [delivery] = yield* waitFor(
          Effect.sync(() => receiver.received.filter((r) => r.path === "/signed")),
          (received) => received.length === 1,
          "the delivery"
        )
        expect(verifySignature(webhook.secret, delivery!.headers, delivery!.body)).toBe(true)
        expect(verifySignature(webhook.secret, delivery!.headers, delivery!.body.replace("Renamed", "Forged"))).toBe(
          false
        )
        expect(Math.abs(Number(delivery!.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(60)
        expect(JSON.parse(delivery!.body)).toMatchObject({
          type: "project.updated",
          data: { projectId, before: { name: "Hooked" }, after: { name: "Renamed" } }
        })
        const log = yield* waitFor(
          deliveries(token, projectId, webhook.id),
          (items) => items[0]?.status === "delivered",
          "the delivery log"
        )
        expect(log).toMatchObject([{ id: delivery!.headers["webhook-id"], attempts: 1, lastStatusCode: 204 }])
      })
    )

    it.effect("retries a failing receiver with backoff under the same webhook-id until it answers", () =>
      Effect.gen(function* () {
        const receiver = yield* Receiver
        const { token, projectId } = yield* ownProject
        receiver.failFirst("/flaky", 2)
        const webhook = yield* createWebhook(token, projectId, `${receiver.url}/flaky`)
        yield* rename(token, projectId, "Again")
        const log = yield* waitFor(
          deliveries(token, projectId, webhook.id),
          (items) => items[0]?.status === "delivered",
          "the third attempt"
        )
        expect(log).toMatchObject([{ status: "delivered", attempts: 3, lastStatusCode: 204 }])
        const attempts = receiver.received.filter((r) => r.path === "/flaky")
        expect(attempts).toHaveLength(3)
        expect(new Set(attempts.map((r) => r.headers["webhook-id"])).size).toBe(1)
        for (const attempt of attempts)
          expect(verifySignature(webhook.secret, attempt.headers, attempt.body)).toBe(true)
      })
    )

    it.effect("dead-letters a delivery whose every attempt fails, and redelivers it on request", () =>
      Effect.gen(function* () {
        const receiver = yield* Receiver
        const { token, projectId } = yield* ownProject
        receiver.failFirst("/down", 4)
        const webhook = yield* createWebhook(token, projectId, `${receiver.url}/down`)
        yield* rename(token, projectId, "Lost")
        const [failed] = yield* waitFor(
          deliveries(token, projectId, webhook.id),
          (items) => items[0]?.status === "failed",
          "the last attempt"
        )
        expect(failed).toMatchObject({ attempts: 4, lastStatusCode: 500 })
        const admin = (yield* loginAdmin).accessToken
        const dead = yield* waitFor(
          request("GET", "/admin/dead-letters?consumer=webhooks-delivery", { token: admin }),
          (response) => response.text.includes(failed!.id),
          "the dead letter"
        )
        expect(dead.status).toBe(200)

        const redelivered = yield* request(
          "POST",
          `/projects/${projectId}/webhooks/${webhook.id}/deliveries/${failed!.id}/redeliver`,
          { token }
        )
        expect(redelivered.status, redelivered.text).toBe(202)
        const [delivered] = yield* waitFor(
          deliveries(token, projectId, webhook.id),
          (items) => items[0]?.status === "delivered",
          "the redelivery"
        )
        expect(delivered).toMatchObject({ id: failed!.id, attempts: 5, lastStatusCode: 204 })
      })
    )

    it.effect("lets only those who may change the project manage its webhooks", () =>
      Effect.gen(function* () {
        const receiver = yield* Receiver
        const { token, projectId } = yield* ownProject
        const webhook = yield* createWebhook(token, projectId, `${receiver.url}/owned`)
        const stranger = yield* register()
        const guest = yield* accountWithRole("guest")
        const path = `/projects/${projectId}/webhooks`
        expectProblem(yield* request("GET", path, { token: stranger.auth.accessToken }), 403)
        expectProblem(yield* request("GET", path, { token: guest.auth.accessToken }), 403)
        expectProblem(yield* request("GET", path), 401)
        const invalid = yield* request("POST", path, { token, body: { url: "ftp://x", events: ["user.deleted"] } })
        expectProblem(invalid, 400)
        expect(fieldPaths(invalid)).toEqual(["events.0"])
        const badUrl = yield* request("POST", path, { token, body: { url: "ftp://x", events: ["file.deleted"] } })
        expectProblem(badUrl, 400)
        expect(fieldPaths(badUrl)).toEqual(["url"])
        expectProblem(yield* request("GET", `${path}/${crypto.randomUUID()}/deliveries`, { token }), 404)
        const removed = yield* request("DELETE", `${path}/${webhook.id}`, { token })
        expect(removed.status).toBe(204)
        expectProblem(yield* request("GET", `${path}/${webhook.id}/deliveries`, { token }), 404)
      })
    )

    it.effect("unlinks a deleted account from the webhooks it set up on other projects", () =>
      Effect.gen(function* () {
        const receiver = yield* Receiver
        const sql = yield* Database
        const { projectId } = yield* ownProject
        const moderator = yield* accountWithRole("moderator")
        const webhook = yield* createWebhook(moderator.auth.accessToken, projectId, `${receiver.url}/kept`)
        const deleted = yield* request("DELETE", "/users/account", {
          token: moderator.auth.accessToken,
          body: { password: moderator.password }
        })
        expect(deleted.status, deleted.text).toBe(204)
        yield* waitFor(
          sql<{ createdBy: string | null }>`select created_by from webhook_endpoints where id = ${webhook.id}`,
          ([row]) => row !== undefined && row.createdBy === null,
          "the eraser"
        )
      })
    )
  })

  layer(pluginServer(backend, { plugins: ["webhooks"] }), { timeout: "120 seconds", excludeTestServices: true })(
    `Webhooks plugin without private targets: ${backend.name}`,
    (it) => {
      it.effect("refuses plain http and loopback, private, link-local and metadata targets", () =>
        Effect.gen(function* () {
          const { token, projectId } = yield* ownProject
          const refused = [
            ["http://hooks.example.com/in", "must use https"],
            ["https://127.0.0.1/in", "loopback, private or link-local"],
            ["https://10.1.2.3/in", "loopback, private or link-local"],
            ["https://192.168.0.10/in", "loopback, private or link-local"],
            ["https://169.254.169.254/latest/meta-data", "loopback, private or link-local"],
            ["https://[::1]/in", "loopback, private or link-local"],
            ["https://[::ffff:127.0.0.1]/in", "loopback, private or link-local"],
            ["https://[fd00::1]/in", "loopback, private or link-local"],
            ["https://localhost/in", "must not resolve to a loopback"],
            ["https://user:pass@hooks.example.com/in", "credentials"]
          ] as const
          for (const [url, reason] of refused) {
            const response = yield* request("POST", `/projects/${projectId}/webhooks`, {
              token,
              body: { url, events: ["file.uploaded"] }
            })
            expectProblem(response, 400)
            expect((response.json as { detail: string }).detail, url).toContain(reason)
          }
        })
      )

      it.effect("checks the addresses a name resolves to when it connects, so DNS cannot rebind it", () =>
        Effect.gen(function* () {
          const failure = yield* Effect.flip(
            send("https://localhost:9/in", {}, "{}", { allowPrivate: false }, Duration.seconds(5))
          )
          expect(failure.reason).toMatch(/localhost resolves to (127\.0\.0\.1|::1), which webhooks may not reach/)
        })
      )
    }
  )
}
