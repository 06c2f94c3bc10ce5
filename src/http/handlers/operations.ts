import { HttpApiBuilder } from "@effect/platform"
import { Effect, Layer, Option, Redacted } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import { AppConfig } from "../../layers/config.js"
import { MetricsExposition } from "../../layers/telemetry.js"
import { ServiceUnavailable, Unauthorized } from "../../services/errors.js"
import { Draining } from "../../services/operations/draining.js"
import { Readiness } from "../../services/operations/readiness.js"
import { MetricsAuthorization, OperationsGroup } from "../groups/operations.js"
import { baseApi } from "../api.js"

const OperationsApi = baseApi.add(OperationsGroup)

const digest = (token: string) => createHash("sha256").update(token).digest()

export const MetricsAuthorizationLive = Layer.effect(
  MetricsAuthorization,
  Effect.map(AppConfig, ({ telemetry }) =>
    MetricsAuthorization.of({
      bearer: (token) =>
        Option.match(telemetry.metricsToken, {
          onNone: () => Effect.void,
          onSome: (expected) =>
            timingSafeEqual(digest(Redacted.value(token)), digest(Redacted.value(expected)))
              ? Effect.void
              : Effect.fail(new Unauthorized({ detail: "GET /metrics needs the bearer token set in METRICS_TOKEN" }))
        })
    })
  )
)

export const OperationsHandlers = HttpApiBuilder.group(OperationsApi, "operations", (handlers) =>
  Effect.gen(function* () {
    const readiness = yield* Readiness
    const metrics = yield* MetricsExposition
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
      .handle("metrics", () => metrics.render)
  })
).pipe(Layer.provide(MetricsAuthorizationLive))
