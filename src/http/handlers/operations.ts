import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ServiceUnavailable } from "../../services/errors.js"
import { Draining } from "../../services/operations/draining.js"
import { Readiness } from "../../services/operations/readiness.js"
import { OperationsGroup } from "../groups/operations.js"
import { baseApi } from "../api.js"

const OperationsApi = baseApi.add(OperationsGroup)

export const OperationsHandlers = HttpApiBuilder.group(OperationsApi, "operations", (handlers) =>
  Effect.gen(function* () {
    const readiness = yield* Readiness
    const draining = yield* Draining
    return handlers
      .handle("live", () => Effect.succeed({ status: "ok" as const }))
      .handle("ready", () =>
        Effect.gen(function* () {
          if (yield* draining.active) {
            return yield* new ServiceUnavailable({
              detail: "Shutting down: finishing the requests in flight",
              retryAfter: 5
            })
          }
          const statuses = yield* readiness.check
          const down = statuses.filter((status) => !status.up).map((status) => status.backend)
          if (down.length > 0) {
            return yield* new ServiceUnavailable({
              detail: `Not ready: ${down.join(", ")} did not answer`,
              retryAfter: 5,
              unavailable: down
            })
          }
          return {
            status: "ready" as const,
            checks: Object.fromEntries(statuses.map((status) => [status.backend, "up" as const]))
          }
        })
      )
  })
)
