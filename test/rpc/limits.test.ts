import { describe, expect, layer } from "@effect/vitest"
import { Effect, Metric, Redacted } from "effect"
import { makeClient } from "../../src/rpc/client.js"
import { rpcRequests } from "../../src/rpc/middleware/observability-live.js"
import { raw, TestServer } from "../support/server.js"
import { rpcServer, uniqueEmail } from "./harness.js"

const LIMIT = 4

const loginOutcomes = (tag: string) =>
  Metric.value(Metric.tagged(Metric.tagged(rpcRequests, "rpc", "auth.login"), "outcome", tag)).pipe(
    Effect.map((state) => state.count)
  )

describe("RPC under the HTTP API's rate limits, request ids and metrics", () => {
  layer(rpcServer({ authRateLimitPerIp: LIMIT }), { excludeTestServices: true })((it) => {
    it.scoped("shares the per-address auth limit with HTTP and counts each call by outcome", () =>
      Effect.gen(function* () {
        const { url } = yield* TestServer
        const client = yield* makeClient({ url })
        const refusedBefore = yield* loginOutcomes("TooManyRequests")
        const attempt = client.auth.login({ email: uniqueEmail("limited"), password: Redacted.make("wrong password") })
        for (let i = 0; i < LIMIT; i++) expect((yield* Effect.flip(attempt))._tag).toBe("Unauthorized")
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
  })
})
