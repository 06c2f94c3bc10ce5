import { Headers } from "@effect/platform"
import { Rpc } from "@effect/rpc"
import { SqlError } from "@effect/sql/SqlError"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { RpcObservability } from "../../src/rpc/groups/middleware.js"
import { RpcObservabilityLive } from "../../src/rpc/middleware/observability-live.js"
import { NotFound } from "../../src/services/errors.js"

const probe = Rpc.make("probe.call")

/** What a client receives when an RPC's handler ends with `outcome`, failing or dying. */
const answer = (outcome: Effect.Effect<never, unknown>) =>
  Effect.flatMap(RpcObservability, (observe) =>
    Effect.flip(
      observe({
        clientId: 0,
        rpc: probe,
        payload: undefined,
        headers: Headers.empty,
        // The handler's own errors are not in the middleware's type: it passes them through untouched.
        next: outcome as Effect.Effect<never, never>
      })
    )
  ).pipe(Effect.provide(RpcObservabilityLive))

describe("RPC failures on the wire", () => {
  it.effect("a declared error passes as it is", () =>
    Effect.gen(function* () {
      const error = yield* answer(Effect.fail(new NotFound({ detail: "No such user" })))
      expect(error).toEqual(new NotFound({ detail: "No such user" }))
    })
  )

  it.effect("a defect becomes an opaque InternalError: no message, stack or SQL of ours", () =>
    Effect.gen(function* () {
      const error = yield* answer(Effect.die(new Error("column password_hash in select * from users is missing")))
      expect(error).toMatchObject({ _tag: "InternalError", status: 500, detail: "An unexpected error occurred" })
      expect(JSON.stringify(error)).not.toMatch(/password_hash|select|at /)
    })
  )

  it.effect("a database that cannot be reached becomes a typed ServiceUnavailable with a retry delay", () =>
    Effect.gen(function* () {
      const down = new SqlError({ cause: { code: "ECONNREFUSED" }, message: "Failed to acquire connection" })
      expect(yield* answer(Effect.die(down))).toMatchObject({ _tag: "ServiceUnavailable", status: 503, retryAfter: 5 })
      expect(yield* answer(Effect.fail(down))).toMatchObject({ _tag: "ServiceUnavailable" })
    })
  )
})
