import { HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Clock, Effect, Option } from "effect"
import { currentOrigin } from "../../services/events/origin.js"
import { clientInfo } from "../client-info.js"
import { randomUUID } from "node:crypto"
import { recordRequest } from "../../layers/telemetry.js"

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** The id a client sent, when it is sane enough to echo and log; a fresh one otherwise. */
export const requestIdFrom = (given: string | undefined) =>
  given !== undefined && REQUEST_ID.test(given) ? given : randomUUID()

/**
 * Gives every request an id (echoed when the client sent a sane one), puts it on the response and on every
 * log line of the request, and logs and counts the request once when it is answered.
 */
export const requestContext = <E, R>(app: HttpApp.Default<E, R>) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const requestId = requestIdFrom(request.headers["x-request-id"])
    const { ip } = yield* clientInfo
    const started = yield* Clock.currentTimeNanos
    yield* HttpApp.appendPreResponseHandler((_, response) =>
      Effect.succeed(HttpServerResponse.setHeader(response, "x-request-id", requestId))
    )
    const span = yield* Effect.currentSpan.pipe(Effect.option)
    const logRequest = (status: number) =>
      Effect.gen(function* () {
        const finished = yield* Clock.currentTimeNanos
        const route = Option.getOrElse(
          Option.flatMap(span, (span) => Option.fromNullable(span.attributes.get("http.route"))),
          () => "(unmatched)"
        )
        const durationSeconds = Number(finished - started) / 1e9
        yield* recordRequest({
          transport: "http",
          route: String(route),
          method: request.method,
          status,
          durationSeconds
        })
        yield* Effect.logInfo("request").pipe(
          Effect.annotateLogs({
            method: request.method,
            route,
            status,
            durationMs: Math.round(durationSeconds * 10_000) / 10
          })
        )
      })
    return yield* app.pipe(
      Effect.tap((response) => logRequest(response.status)),
      Effect.tapErrorCause(() => logRequest(500)),
      Effect.annotateLogs("requestId", requestId),
      Effect.locally(currentOrigin, Option.some({ ip, requestId }))
    )
  })
