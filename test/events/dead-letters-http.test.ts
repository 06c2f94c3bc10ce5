import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { accountWithRole, backends, expectProblem, identityServer, loginAdmin, request } from "../identity/harness.js"

describe.each(backends)("Dead letters over HTTP: $name", (backend) => {
  layer(identityServer(backend), { timeout: "120 seconds" })((it) => {
    it.effect("lets admins list every consumer's dead letters, and nobody else", () =>
      Effect.gen(function* () {
        const admin = yield* loginAdmin
        const listed = yield* request("GET", "/admin/dead-letters", { token: admin.accessToken })
        expect(listed.status, listed.text).toBe(200)
        expect(listed.json).toEqual({ items: [] })
        const named = yield* request("GET", "/admin/dead-letters?consumer=storage-purge", {
          token: admin.accessToken
        })
        expect(named.status, named.text).toBe(200)

        for (const role of ["moderator", "user", "guest"] as const) {
          const account = yield* accountWithRole(role)
          const refused = yield* request("GET", "/admin/dead-letters", { token: account.auth.accessToken })
          expectProblem(refused, 403, "forbidden")
          const replay = yield* request("POST", "/admin/dead-letters/anything/replay", {
            token: account.auth.accessToken
          })
          expectProblem(replay, 403, "forbidden")
        }
        expectProblem(yield* request("GET", "/admin/dead-letters"), 401)
      })
    )

    it.effect("answers 404 for a dead letter that does not exist and 400 for a malformed consumer name", () =>
      Effect.gen(function* () {
        const admin = yield* loginAdmin
        expectProblem(
          yield* request("POST", "/admin/dead-letters/no-such-event/replay", { token: admin.accessToken }),
          404,
          "not-found"
        )
        expectProblem(
          yield* request("GET", "/admin/dead-letters?consumer=Bad%20Name!", { token: admin.accessToken }),
          400,
          "validation-failed"
        )
      })
    )
  })
})
