import { Cause, Clock, Effect, Exit, Layer, Metric, MetricBoundaries, Option } from "effect"
import { InternalError, ServiceUnavailable } from "../../services/errors.js"
import { isBackendDown, UNAVAILABLE_RETRY_AFTER } from "../../http/middleware/problems.js"
import { requestIdFrom } from "../../http/middleware/request-context.js"
import { RpcObservability } from "../groups/middleware.js"

/** RPCs answered, tagged by `rpc` and `outcome` (`ok`, the error's tag, or `interrupted`). */
export const rpcRequests = Metric.counter("plinth_rpc_requests", {
  description: "RPCs answered, by RPC and outcome",
  incremental: true
})

/** How long an RPC took to answer (for a stream, until it ended), tagged by `rpc`. */
export const rpcDuration = Metric.histogram(
  "plinth_rpc_duration_ms",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 16 }),
  "RPC duration in milliseconds"
)

const unavailable = new ServiceUnavailable({
  detail: "A backing service is unavailable; retry later",
  retryAfter: UNAVAILABLE_RETRY_AFTER
})
const internal = new InternalError({ detail: "An unexpected error occurred" })

/**
 * Declared errors pass as they are. An unreachable backend becomes `ServiceUnavailable` and anything else
 * `InternalError`, logged here with its cause, so no stack, SQL or message of ours reaches a client.
 */
const settle = <E>(cause: Cause.Cause<E>) => {
  if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure) && !isBackendDown(failure.value)) return Effect.failCause(cause)
  const error = Option.isSome(failure) ? failure.value : Cause.squash(cause)
  return isBackendDown(error)
    ? Effect.zipRight(Effect.logWarning("RPC failed: backing service down", cause), Effect.fail(unavailable))
    : Effect.zipRight(Effect.logError("RPC failed with an unexpected error", cause), Effect.fail(internal))
}

const outcomeOf = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.match(exit, {
    onSuccess: () => "ok",
    onFailure: (cause) =>
      Option.match(Cause.failureOption(cause), {
        onNone: () => "interrupted",
        onSome: (error) =>
          typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : "failure"
      })
  })

export const RpcObservabilityLive = Layer.succeed(
  RpcObservability,
  RpcObservability.of(({ rpc, headers, next }) =>
    Effect.gen(function* () {
      const started = yield* Clock.currentTimeMillis
      const exit = yield* Effect.exit(Effect.catchAllCause(next, settle))
      const durationMs = (yield* Clock.currentTimeMillis) - started
      const outcome = outcomeOf(exit)
      yield* Metric.increment(Metric.tagged(Metric.tagged(rpcRequests, "rpc", rpc._tag), "outcome", outcome))
      yield* Metric.update(Metric.tagged(rpcDuration, "rpc", rpc._tag), durationMs)
      yield* Effect.logInfo("rpc").pipe(Effect.annotateLogs({ rpc: rpc._tag, outcome, durationMs }))
      return yield* exit
    }).pipe(Effect.annotateLogs("requestId", requestIdFrom(headers["x-request-id"])))
  )
)
