import {
  FetchHttpClient,
  HttpApi,
  HttpApiBuilder,
  HttpApiClient,
  HttpApiEndpoint,
  HttpApiGroup
} from "@effect/platform"
import { describe, expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Schema } from "effect"
import { request } from "node:http"
import { foldApi } from "../../src/http/api.js"
import { API_ID } from "../../src/http/api-id.js"
import { OperationsGroup } from "../../src/http/groups/operations.js"
import { makeHttpLive } from "../../src/http/server.js"
import { AppConfig } from "../../src/layers/config.js"
import { InfraLive } from "../../src/layers/index.js"
import { LoggerLive } from "../../src/layers/logger.js"
import { Draining } from "../../src/services/operations/draining.js"
import { freePort, raw, TestServer } from "../support/server.js"
import { testSettings } from "../support/settings.js"
import { strictRequest } from "../../src/services/schema.js"

const problem = (status: number, slug: string) => ({
  type: `urn:plinth:problem:${slug}`,
  title: expect.any(String),
  status,
  detail: expect.any(String)
})

describe("Operations module", () => {
  layer(TestServer.layer(), { timeout: "60 seconds" })((it) => {
    it.effect("answers liveness and readiness naming every backend, through the typed client", () =>
      Effect.gen(function* () {
        const { url } = yield* TestServer
        const client = yield* HttpApiClient.make(HttpApi.make(API_ID).add(OperationsGroup), { baseUrl: url })
        expect(yield* client.operations.live()).toEqual({ status: "ok" })
        expect(yield* client.operations.ready()).toEqual({
          status: "ready",
          checks: { database: "up", cache: "up", queue: "up", storage: "up" }
        })
      }).pipe(Effect.provide(FetchHttpClient.layer))
    )

    it.effect("publishes an OpenAPI 3.1 document and an interactive reference page", () =>
      Effect.gen(function* () {
        const { url } = yield* TestServer
        const openapi = yield* raw(`${url}/openapi.json`)
        expect(openapi.status).toBe(200)
        expect(openapi.json).toMatchObject({ openapi: "3.1.0", info: { title: "Plinth" } })
        expect(Object.keys((openapi.json as { paths: object }).paths)).toEqual(
          expect.arrayContaining(["/health/live", "/health/ready"])
        )
        const docs = yield* raw(`${url}/docs`)
        expect(docs.status).toBe(200)
        expect(docs.headers.get("content-type")).toContain("text/html")
        expect(docs.text).toContain("api-reference")
      })
    )

    it.effect("answers an unknown route with a 404 problem", () =>
      Effect.gen(function* () {
        const { url } = yield* TestServer
        const response = yield* raw(`${url}/nowhere?x=1`)
        expect(response.status).toBe(404)
        expect(response.headers.get("content-type")).toBe("application/problem+json")
        expect(response.json).toMatchObject({ ...problem(404, "not-found"), instance: "/nowhere" })
      })
    )

    it.effect("echoes a sane X-Request-Id, replaces an unsafe one, and leaks no server banner", () =>
      Effect.gen(function* () {
        const { url } = yield* TestServer
        const echoed = yield* raw(`${url}/health/live`, { headers: { "x-request-id": "trace-abc.123" } })
        expect(echoed.headers.get("x-request-id")).toBe("trace-abc.123")
        const unsafe = yield* raw(`${url}/health/live`, { headers: { "x-request-id": "bad id\twith<stuff>" } })
        expect(unsafe.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/)
        const missing = yield* raw(`${url}/nowhere`)
        expect(missing.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/)
        expect(echoed.headers.get("server")).toBeNull()
        expect(echoed.headers.get("x-powered-by")).toBeNull()
      })
    )
  })
})

/** A JSON endpoint served through the same middleware stack, to exercise body handling before any module has one. */
class Greeting extends Schema.Class<Greeting>("Greeting")(
  Schema.Struct({
    name: Schema.String.pipe(Schema.minLength(1)),
    times: Schema.Int.pipe(Schema.between(1, 3))
  }).annotations(strictRequest)
) {}

const ProbeGroup = HttpApiGroup.make("probe")
  .add(
    HttpApiEndpoint.post("greet", "/probe/greet")
      .setPayload(Greeting)
      .addSuccess(Schema.Struct({ text: Schema.String }))
  )
  .add(HttpApiEndpoint.get("crash", "/probe/crash"))

const ProbeHandlers = HttpApiBuilder.group(HttpApi.make(API_ID).add(ProbeGroup), "probe", (handlers) =>
  handlers
    .handle("greet", ({ payload }) => Effect.succeed({ text: `Hello ${payload.name}`.repeat(payload.times) }))
    .handle("crash", () => Effect.die(new Error("secret internals: select * from users")))
)

class ProbeServer extends Context.Tag("test/ProbeServer")<ProbeServer, { readonly url: string }>() {}

const ProbeServerLive = Layer.unwrapEffect(
  Effect.map(freePort(), (port) => {
    const settings = testSettings({ port, jsonBodyLimit: 1024 })
    return Layer.succeed(ProbeServer, { url: `http://127.0.0.1:${port}` }).pipe(
      Layer.provideMerge(makeHttpLive(foldApi([ProbeGroup]), ProbeHandlers)),
      Layer.provide(InfraLive),
      Layer.provide(Draining.layer),
      Layer.provide(LoggerLive),
      Layer.provide(Layer.succeed(AppConfig, settings))
    )
  })
)

/** Sends a body in chunks with no Content-Length, which `fetch` cannot do. */
const chunked = (url: string, body: string) =>
  Effect.async<{ status: number; body: string }>((resume) => {
    const req = request(url, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
      let text = ""
      res.on("data", (chunk: Buffer) => (text += chunk.toString()))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, body: text })))
    })
    req.write(body.slice(0, 5))
    req.end(body.slice(5))
  })

describe("Problem details for bad requests", () => {
  layer(ProbeServerLive, { timeout: "60 seconds" })((it) => {
    const post = (url: string, body: string, contentType = "application/json") =>
      raw(`${url}/probe/greet`, { method: "POST", headers: { "content-type": contentType }, body })

    it.effect("accepts a valid body", () =>
      Effect.gen(function* () {
        const { url } = yield* ProbeServer
        const ok = yield* post(url, JSON.stringify({ name: "Ada", times: 2 }))
        expect(ok.status).toBe(200)
        expect(ok.json).toEqual({ text: "Hello AdaHello Ada" })
      })
    )

    it.effect("answers malformed JSON with 400 and never a 500", () =>
      Effect.gen(function* () {
        const { url } = yield* ProbeServer
        const response = yield* post(url, '{"name": "Ada",')
        expect(response.status).toBe(400)
        expect(response.headers.get("content-type")).toBe("application/problem+json")
        expect(response.json).toMatchObject({ ...problem(400, "malformed-request"), instance: "/probe/greet" })
      })
    )

    it.effect("lists every field that failed validation", () =>
      Effect.gen(function* () {
        const { url } = yield* ProbeServer
        const response = yield* post(url, JSON.stringify({ name: "", times: 9 }))
        expect(response.status).toBe(400)
        const body = response.json as { errors: ReadonlyArray<{ path: string; message: string }> }
        expect(body).toMatchObject(problem(400, "validation-failed"))
        expect(body.errors.map((e) => e.path).sort()).toEqual(["name", "times"])
        const missing = yield* post(url, "{}")
        expect((missing.json as typeof body).errors.map((e) => e.path).sort()).toEqual(["name", "times"])
        const smuggled = yield* post(url, JSON.stringify({ name: "Ada", times: 1, role: "admin" }))
        expect(smuggled.status).toBe(400)
        expect((smuggled.json as typeof body).errors).toEqual([{ path: "role", message: expect.any(String) }])
      })
    )

    it.effect("refuses a body over the limit with 413 and a JSON body without length with 411", () =>
      Effect.gen(function* () {
        const { url } = yield* ProbeServer
        const big = yield* post(url, JSON.stringify({ name: "x".repeat(2000), times: 1 }))
        expect(big.status).toBe(413)
        expect(big.json).toMatchObject({ ...problem(413, "payload-too-large"), limit: 1024 })
        const streamed = yield* chunked(`${url}/probe/greet`, JSON.stringify({ name: "Ada", times: 1 }))
        expect(streamed.status).toBe(411)
      })
    )

    it.effect("answers a defect with a bare 500 that reveals nothing", () =>
      Effect.gen(function* () {
        const { url } = yield* ProbeServer
        const response = yield* raw(`${url}/probe/crash`)
        expect(response.status).toBe(500)
        expect(response.json).toMatchObject(problem(500, "internal-error"))
        expect(response.text).not.toMatch(/secret|select|stack|at /i)
      })
    )
  })
})
