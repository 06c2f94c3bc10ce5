import { HttpApp, HttpMiddleware, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"

/** What a browser script may send and read across origins; the API authenticates by bearer token, not cookies. */
const allowedHeaders = ["authorization", "content-type", "if-match", "if-none-match", "range", "x-request-id"]
const exposedHeaders = ["etag", "location", "retry-after", "x-request-id", "content-disposition", "content-range"]

/**
 * CORS for the origins of CORS_ORIGINS only. The platform's middleware answers every OPTIONS and adds headers
 * for any origin, so it only sees requests from an allowed origin; any other request goes on as if CORS did not
 * exist, and gets no CORS header. `Vary: Origin` keeps caches from mixing the two.
 */
export const corsFor = (origins: ReadonlyArray<string>) => {
  const allowed = new Set(origins)
  const cors = HttpMiddleware.cors({
    allowedOrigins: (origin) => allowed.has(origin),
    allowedHeaders,
    exposedHeaders,
    maxAge: 600
  })
  const varyByOrigin = HttpApp.appendPreResponseHandler((_, response) =>
    Effect.succeed(HttpServerResponse.setHeader(response, "vary", "Origin"))
  )
  return <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
    allowed.size === 0
      ? app
      : Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
          const origin = request.headers["origin"]
          return origin !== undefined && allowed.has(origin) ? cors(app) : Effect.zipRight(varyByOrigin, app)
        })
}
