import { HttpApp, HttpServerRequest, HttpServerResponse, HttpTraceContext } from "@effect/platform"
import { Context, Effect, Exit, FiberRef, FiberRefs, HashMap, Option, Tracer } from "effect"
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

const routeOf = (span: Tracer.Span) => String(span.attributes.get("http.route") ?? "(unmatched)")

const pathOf = (url: string) => {
  const query = url.indexOf("?")
  return query === -1 ? url : url.slice(0, query)
}

const describeRequest = (span: Tracer.Span, request: HttpServerRequest.HttpServerRequest) => {
  span.attribute("http.request.method", request.method)
  span.attribute("url.path", pathOf(request.url))
  const userAgent = request.headers["user-agent"]
  if (userAgent !== undefined) span.attribute("user_agent.original", userAgent)
  if (Option.isSome(request.remoteAddress)) span.attribute("client.address", request.remoteAddress.value)
}

/**
 * Gives every request an id (echoed when the client sent a sane one) and a span, puts the id on the response
 * and on every log line of the request, decorates the response, and logs, counts and ends the request's span
 * once when it is answered.
 *
 * The platform runs each request in a fiber of its own, so what the request carries (log annotation, current
 * span, event origin, response decoration) is set on that fiber in one update and never restored.
 * `Effect.locally`, `annotateLogs` and `withParentSpan` would copy the fiber's refs twice each, and at
 * thousands of requests a second those copies were most of what the server spent on a request that does no
 * work.
 */
export const requestContext =
  (options: RequestContextOptions) =>
  <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
    Effect.withFiberRuntime((fiber) => {
      const started = performance.now()
      const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
      const requestId = requestIdFrom(request.headers["x-request-id"])
      const { ip } = clientInfoOf(request, options.trustProxy)
      const respond: HttpApp.PreResponseHandler = (request, response) =>
        options.decorate(request, HttpServerResponse.setHeader(response, "x-request-id", requestId))
      // The platform's own request span is turned off (`withTracerDisabledWhen`) for this one: it parsed the URL,
      // recorded every request and response header, and became current through `Effect.withParentSpan`, which
      // copies the fiber's refs twice; together about a quarter of the CPU of an authenticated read.
      const spanOptions = {
        kind: "server",
        parent: Option.getOrUndefined(HttpTraceContext.fromHeaders(request.headers)),
        captureStackTrace: false
      } as const
      return Effect.useSpan(`http.server ${request.method}`, spanOptions, (span) => {
        describeRequest(span, request)
        const answered = (exit: Exit.Exit<HttpServerResponse.HttpServerResponse, E>) => {
          const status = Exit.isSuccess(exit) ? exit.value.status : 500
          const route = routeOf(span)
          const durationSeconds = (performance.now() - started) / 1000
          span.attribute("http.response.status_code", status)
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
          const context = FiberRefs.getOrDefault(refs, FiberRef.currentContext)
          return FiberRefs.updateManyAs(refs, {
            entries: [
              [FiberRef.currentLogAnnotations, [[fiberId, HashMap.set(annotations, "requestId", requestId)]]],
              [FiberRef.currentContext, [[fiberId, Context.add(context, Tracer.ParentSpan, span)]]],
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
        }).pipe(Effect.zipRight(app), Effect.onExit(answered))
      })
    })
