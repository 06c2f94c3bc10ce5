import { describe, expect, layer } from "@effect/vitest"
import { Deferred, Effect, Metric, Queue, Redacted } from "effect"
import { Socket } from "@effect/platform"
import { SocketCloseError } from "@effect/platform/Socket"
import { NodeSocket } from "@effect/platform-node"
import { makeClient } from "../../src/rpc/client.js"
import { rpcRequests } from "../../src/rpc/middleware/observability-live.js"
import { expectNothingLeaked } from "../identity/harness.js"
import { raw, TestServer } from "../support/server.js"
import { rpcServer, uniqueEmail } from "./harness.js"

const LIMIT = 64 * 1024
/** Auth calls per client address per minute; only the rate-limit test makes any that count. */
const AUTH_LIMIT = 4
const bodies: Array<string> = []

const request = (id: string, tag: string, payload: unknown, headers: unknown = []) =>
  JSON.stringify({ _tag: "Request", id, tag, payload, headers }) + "\n"

/** POSTs raw NDJSON to /rpc and parses the NDJSON answer. */
const post = (body: string | Uint8Array, headers: Record<string, string> = {}) =>
  Effect.flatMap(TestServer, ({ url }) =>
    raw(`${url}/rpc`, { method: "POST", headers: { "content-type": "application/ndjson", ...headers }, body }).pipe(
      Effect.map((response) => {
        bodies.push(response.text)
        const lines = response.headers.get("content-type")?.startsWith("application/ndjson")
          ? response.text
              .split("\n")
              .filter((line) => line !== "")
              .map((line) => JSON.parse(line) as Record<string, unknown>)
          : []
        return { status: response.status, json: response.json, lines }
      })
    )
  )

type Received = Record<string, unknown> | { readonly closed: number }

/** A raw WebSocket to /rpc/ws: what it receives, line by line, and how the server closed it. */
const openWebSocket = Effect.gen(function* () {
  const { url } = yield* TestServer
  const socket = yield* Socket.makeWebSocket(`${url.replace(/^http/, "ws")}/rpc/ws`).pipe(
    Effect.provide(NodeSocket.layerWebSocketConstructor)
  )
  const inbox = yield* Queue.unbounded<Received>()
  const opened = yield* Deferred.make<void>()
  const write = yield* socket.writer
  yield* socket
    .runRaw(
      (data) => {
        const text = typeof data === "string" ? data : new TextDecoder().decode(data)
        bodies.push(text)
        for (const line of text.split("\n").filter((l) => l !== "")) inbox.unsafeOffer(JSON.parse(line))
      },
      { onOpen: Deferred.succeed(opened, undefined) }
    )
    .pipe(
      Effect.catchAll((error) => Queue.offer(inbox, { closed: SocketCloseError.is(error) ? error.code : -1 })),
      Effect.forkScoped
    )
  yield* Deferred.await(opened)
  return {
    send: (text: string) => Effect.orDie(write(text)),
    next: Queue.take(inbox).pipe(Effect.timeout("10 seconds"), Effect.orDie)
  }
})

const loginOutcomes = (tag: string) =>
  Metric.value(Metric.tagged(Metric.tagged(rpcRequests, "rpc", "auth.login"), "outcome", tag)).pipe(
    Effect.map((state) => state.count)
  )

const failureOf = (message: Received | undefined) =>
  (message as { exit?: { _tag: string; cause?: { _tag: string; error?: Record<string, unknown> } } } | undefined)?.exit

describe("the RPC transport: malformed payloads, rate limits, request ids, metrics", () => {
  layer(rpcServer({ jsonBodyLimit: LIMIT, authRateLimitPerIp: AUTH_LIMIT }), { excludeTestServices: true })((it) => {
    it.effect("over HTTP: each gets a typed answer and the server keeps serving", () =>
      Effect.gen(function* () {
        const garbage = yield* post("{this is not json\n")
        expect(garbage.status).toBe(200)
        expect(garbage.lines).toEqual([{ _tag: "Defect", defect: expect.objectContaining({ name: "SyntaxError" }) }])

        const unknownTag = yield* post(request("1", "nope.nothing", {}))
        expect(failureOf(unknownTag.lines[0])).toEqual({
          _tag: "Failure",
          cause: { _tag: "Fail", error: expect.objectContaining({ _tag: "NotFound", status: 404 }) }
        })

        const wrongSchema = yield* post(
          request("2", "auth.register", { email: "not-an-email", password: "short", name: "", admin: true })
        )
        const invalid = failureOf(wrongSchema.lines[0])?.cause?.error
        expect(invalid).toMatchObject({ _tag: "ValidationFailed", status: 400 })
        expect((invalid?.["errors"] as ReadonlyArray<{ path: string }>).map((e) => e.path).sort()).toEqual([
          "admin",
          "email",
          "name",
          "password"
        ])

        const wrongType = yield* post(request("3", "projects.get", { id: 42 }))
        expect(failureOf(wrongType.lines[0])?.cause?.error).toMatchObject({ _tag: "ValidationFailed" })

        const badHeaders = yield* post(request("4", "auth.jwks", null, { authorization: "x" }))
        expect(failureOf(badHeaders.lines[0])?.cause?.error).toMatchObject({ _tag: "MalformedRequest" })

        const badId = yield* post(request("not-a-number", "auth.jwks", null))
        expect(badId.lines).toEqual([{ _tag: "Defect", defect: expect.anything() }])

        const badInterrupt = yield* post(JSON.stringify({ _tag: "Interrupt", requestId: "x" }) + "\n")
        expect(badInterrupt.lines).toEqual([{ _tag: "Defect", defect: expect.any(String) }])

        const oversized = yield* post(request("5", "auth.jwks", "x".repeat(LIMIT)))
        expect(oversized.status).toBe(413)
        expect(oversized.json).toMatchObject({ _tag: "PayloadTooLarge", limit: LIMIT })

        const unauthenticated = yield* post(request("6", "profile.get", null))
        expect(failureOf(unauthenticated.lines[0])?.cause?.error).toMatchObject({ _tag: "Unauthorized", status: 401 })

        const valid = yield* post(request("7", "auth.jwks", null))
        expect(valid.lines).toEqual([
          { _tag: "Exit", requestId: "7", exit: { _tag: "Success", value: { keys: expect.any(Array) } } }
        ])
      })
    )

    it.scoped("over WebSocket: each gets a typed answer, an oversized frame closes only its connection", () =>
      Effect.gen(function* () {
        const socket = yield* openWebSocket
        yield* socket.send("{this is not json\n")
        expect(yield* socket.next).toEqual({ _tag: "Defect", defect: expect.objectContaining({ name: "SyntaxError" }) })

        yield* socket.send(request("1", "nope.nothing", {}))
        expect(failureOf(yield* socket.next)?.cause?.error).toMatchObject({
          _tag: "NotFound"
        })

        yield* socket.send(request("2", "projects.create", { name: 7 }))
        expect(failureOf(yield* socket.next)?.cause?.error).toMatchObject({
          _tag: "ValidationFailed",
          errors: [{ path: "name", message: expect.any(String) }]
        })

        yield* socket.send(request("3", "auth.jwks", null))
        expect(yield* socket.next).toMatchObject({ _tag: "Exit", requestId: "3", exit: { _tag: "Success" } })

        yield* socket.send(request("4", "auth.jwks", "x".repeat(LIMIT + 1)))
        expect(yield* socket.next).toEqual({ closed: 1009 })

        const again = yield* openWebSocket
        yield* again.send(request("1", "auth.jwks", null))
        expect(yield* again.next).toMatchObject({ _tag: "Exit", requestId: "1", exit: { _tag: "Success" } })
      })
    )

    it.scoped("shares the per-address auth limit with HTTP and counts each call by outcome", () =>
      Effect.gen(function* () {
        const { url } = yield* TestServer
        const client = yield* makeClient({ url })
        const refusedBefore = yield* loginOutcomes("TooManyRequests")
        const attempt = client.auth.login({ email: uniqueEmail("limited"), password: Redacted.make("wrong password") })
        for (let i = 0; i < AUTH_LIMIT; i++) expect((yield* Effect.flip(attempt))._tag).toBe("Unauthorized")
        const limited = yield* Effect.flip(attempt)
        expect(limited).toMatchObject({ _tag: "TooManyRequests", status: 429 })
        expect(limited._tag === "TooManyRequests" && limited.retryAfter).toBeGreaterThan(0)

        const overHttp = yield* raw(`${url}/auth/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: uniqueEmail("limited"), password: "wrong password" })
        })
        expect(overHttp.status).toBe(429)
        expect((yield* loginOutcomes("TooManyRequests")) - refusedBefore).toBe(1)
      })
    )

    it.effect("echoes the request id of an RPC POST like any other request", () =>
      Effect.gen(function* () {
        const { url } = yield* TestServer
        const response = yield* raw(`${url}/rpc`, {
          method: "POST",
          headers: { "content-type": "application/ndjson", "x-request-id": "rpc-trace.42" },
          body: JSON.stringify({ _tag: "Request", id: "1", tag: "auth.jwks", payload: null, headers: [] }) + "\n"
        })
        expect(response.status).toBe(200)
        expect(response.headers.get("x-request-id")).toBe("rpc-trace.42")
      })
    )

    it.effect("no answer leaks a stack, SQL or a password hash", () => Effect.sync(() => expectNothingLeaked(bodies)))
  })
})
