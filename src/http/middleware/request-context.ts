import { HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Context, Effect, FiberRef, FiberRefs, HashMap, Option } from "effect"
import { randomUUID } from "node:crypto"
import { countRequest } from "../../layers/telemetry.js"
import { currentOrigin } from "../../services/events/origin.js"
import { clientInfoOf } from "../client-info.js"

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** The id a client sent, when it is sane enough to echo and log; a fresh one otherwise. */
export const requestIdFrom = (given: string | undefined) =>
  given !== undefined && REQUEST_ID.test(given) ? given : randomUUID()

export interface RequestContextOptions {
  readonly trustProxy: boolean
  /** LOG_LEVEL admits info: each answered request is logged. */
  readonly logRequests: boolean
  /** Headers every response carries (security headers), applied just before it is written. */
  readonly decorate: HttpApp.PreResponseHandler
}

const routeOf = (span: Option.Option<{ readonly attributes: ReadonlyMap<string, unknown> }>) =>
  String(
    Option.getOrElse(
      Option.flatMapNullable(span, (span) => span.attributes.get("http.route")),
      () => "(unmatched)"
    )
  )

/**
 * Gives every request an id (echoed when the client sent a sane one), puts it on the response and on every
 * log line of the request, decorates the response, and logs and counts the request once when it is answered.
 *
 * The platform runs each request in a fiber of its own, so what the request carries (log annotation, event
 * origin, response decoration) is set on that fiber in one update and never restored. `Effect.locally` and
 * `annotateLogs` would copy the fiber's refs twice each, and at thousands of requests a second those copies
 * were most of what the server spent on a request that does no work.
 */
export const requestContext =
  (options: RequestContextOptions) =>
  <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
    Effect.withFiberRuntime((fiber) => {
      const started = performance.now()
      const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
      const requestId = requestIdFrom(request.headers["x-request-id"])
      const { ip } = clientInfoOf(request, options.trustProxy)
      const span = Option.filter(Option.fromNullable(fiber.currentSpan), (span) => span._tag === "Span")
      const respond: HttpApp.PreResponseHandler = (request, response) =>
        options.decorate(request, HttpServerResponse.setHeader(response, "x-request-id", requestId))
      const answered = (status: number) => {
        const route = routeOf(span)
        const durationSeconds = (performance.now() - started) / 1000
        countRequest({ transport: "http", route, method: request.method, status, durationSeconds })
        return options.logRequests
          ? Effect.logInfo("request").pipe(
              Effect.annotateLogs({
                method: request.method,
                route,
                status,
                durationMs: Math.round(durationSeconds * 10_000) / 10
              })
            )
          : Effect.void
      }
      return Effect.updateFiberRefs((fiberId, refs) => {
        const earlier = FiberRefs.getOrDefault(refs, HttpApp.currentPreResponseHandlers)
        const annotations = FiberRefs.getOrDefault(refs, FiberRef.currentLogAnnotations)
        return FiberRefs.updateManyAs(refs, {
          entries: [
            [FiberRef.currentLogAnnotations, [[fiberId, HashMap.set(annotations, "requestId", requestId)]]],
            [currentOrigin, [[fiberId, Option.some({ ip, requestId })]]],
            [
              HttpApp.currentPreResponseHandlers,
              [
                [
                  fiberId,
                  Option.some(
                    Option.match(earlier, {
                      onNone: () => respond,
                      onSome: (handler) => (request, response) =>
                        Effect.flatMap(handler(request, response), (response) => respond(request, response))
                    })
                  )
                ]
              ]
            ]
          ]
        })
      }).pipe(
        Effect.zipRight(app),
        Effect.tap((response) => answered(response.status)),
        Effect.tapErrorCause(() => answered(500))
      )
    })
