import { HttpApi, HttpApiBuilder, HttpApiScalar, HttpMiddleware, HttpServer, HttpServerRequest } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, LogLevel, Option } from "effect"
import { readFile } from "node:fs/promises"
import { createServer, type Server, type ServerResponse } from "node:http"
import { createServer as createTlsServer } from "node:https"
import { AppConfig, type AppSettings, ConfigInvalid, type TlsFiles } from "../layers/config.js"
import { ServiceUnavailable } from "../services/errors.js"
import { Draining } from "../services/operations/draining.js"
import { apiLayer, type PlinthApi } from "./api.js"
import { checkContentType, checkJsonBodyLimit } from "./middleware/body-limit.js"
import { corsFor } from "./middleware/cors.js"
import { problemResponse, withProblems } from "./middleware/problems.js"
import { requestContext } from "./middleware/request-context.js"
import { securityHeaders } from "./middleware/security-headers.js"

/**
 * The routes whose body is raw bytes in the file's own content type (uploads). Their handlers stream and bound
 * the body themselves, so the JSON and form guards, which would judge a `text/csv` file as JSON, skip them.
 */
const rawBodyRoutes = (api: PlinthApi) => {
  const routes: Array<{ readonly method: string; readonly path: RegExp }> = []
  HttpApi.reflect(api, {
    onGroup: () => {},
    onEndpoint: ({ endpoint, payloads }) => {
      if (![...payloads.values()].some(({ encoding }) => encoding.kind === "Uint8Array")) return
      const pattern = endpoint.path
        .split("/")
        .map((segment) => (segment.startsWith(":") ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
        .join("/")
      routes.push({ method: endpoint.method, path: new RegExp(`^${pattern}$`) })
    }
  })
  return (request: HttpServerRequest.HttpServerRequest) => {
    const pathname = new URL(request.url, "http://plinth").pathname
    return routes.some((route) => route.method === request.method && route.path.test(pathname))
  }
}

/** Runs inside the HttpApi, before its own error encoding, so every failure leaves as problem+json. */
const problemsMiddleware = (api: PlinthApi) => {
  const isRawBody = rawBodyRoutes(api)
  return HttpApiBuilder.middleware(
    Effect.map(
      AppConfig,
      ({ jsonBodyLimit }) =>
        (app) =>
          Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
            Option.match(
              isRawBody(request)
                ? Option.none()
                : Option.orElse(checkContentType(request), () => checkJsonBodyLimit(request, jsonBodyLimit)),
              {
                onNone: () => withProblems(app),
                onSome: (problem) =>
                  Effect.succeed(problemResponse(problem, new URL(request.url, "http://plinth").pathname))
              }
            )
          )
    )
  )
}

/**
 * Node's `server.close` stops accepting at once and waits for in-flight requests; connections still open
 * when SHUTDOWN_TIMEOUT_SECONDS has passed are cut so shutdown always ends.
 */
const boundedShutdown = (server: Server) =>
  Layer.scopedDiscard(
    Effect.flatMap(AppConfig, ({ shutdownTimeoutSeconds }) =>
      Effect.addFinalizer(() =>
        Effect.sync(() => {
          setTimeout(() => server.closeAllConnections(), shutdownTimeoutSeconds * 1000).unref()
        })
      )
    )
  )

/**
 * The first step of shutdown, before the server stops listening: readiness fails and responses close their
 * connections, for SHUTDOWN_DRAIN_SECONDS, so that load balancers notice and send new requests elsewhere.
 */
const drainFirst = Layer.scopedDiscard(
  Effect.gen(function* () {
    const { shutdownDrainSeconds } = yield* AppConfig
    const draining = yield* Draining
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        yield* draining.begin
        if (shutdownDrainSeconds === 0) return
        yield* Effect.logInfo(`Shutting down: draining for ${shutdownDrainSeconds}s before closing the listener`)
        yield* Effect.sleep(`${shutdownDrainSeconds} seconds`)
      })
    )
  })
)

const readTlsFiles = (files: TlsFiles) =>
  Effect.tryPromise({
    try: () => Promise.all([readFile(files.certFile), readFile(files.keyFile)]),
    catch: (cause) =>
      new ConfigInvalid({
        problems: [`TLS_CERT_FILE, TLS_KEY_FILE: cannot read the certificate or key (${String(cause)})`]
      })
  })

/**
 * Plain HTTP, or HTTPS with TLS 1.3 only when a certificate is configured. The timeouts bound slow clients:
 * headers must arrive within HTTP_HEADERS_TIMEOUT_MS and the whole request within HTTP_REQUEST_TIMEOUT_MS;
 * Node checks them every second rather than its default 30.
 */
const createNodeServer = (settings: AppSettings) =>
  Effect.map(
    Option.match(settings.tls, { onNone: () => Effect.succeed(undefined), onSome: readTlsFiles }),
    (tls): Server => {
      const options = {
        headersTimeout: settings.httpLimits.headersTimeoutMillis,
        requestTimeout: settings.httpLimits.requestTimeoutMillis,
        maxHeaderSize: settings.httpLimits.maxHeaderBytes,
        connectionsCheckingInterval: 1000
      }
      if (tls === undefined) return createServer(options)
      const [cert, key] = tls
      return createTlsServer({ ...options, cert, key, minVersion: "TLSv1.3" })
    }
  )

const notServing = JSON.stringify({
  ...new ServiceUnavailable({ detail: "The server is starting or stopping; retry shortly", retryAfter: 1 })
})

/**
 * The server listens before the API's handler is installed and keeps its connections a moment after the handler
 * is removed; a request in either window would wait forever for an answer. It gets a 503 instead.
 */
const answerWhileNotServing = (server: Server) =>
  server.on("request", (_, response: ServerResponse) => {
    if (server.listenerCount("request") > 1) return
    response.writeHead(503, {
      "content-type": "application/problem+json",
      "retry-after": "1",
      "x-content-type-options": "nosniff",
      connection: "close"
    })
    response.end(notServing)
  })

const NodeServerLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const settings = yield* AppConfig
    const server = answerWhileNotServing(yield* createNodeServer(settings))
    return boundedShutdown(server).pipe(
      Layer.provideMerge(NodeHttpServer.layer(() => server, { port: settings.port, host: settings.host }))
    )
  })
)

/** The platform's own address log says http:// whatever the server speaks. */
const logAddress = Layer.effectDiscard(
  Effect.gen(function* () {
    const { tls } = yield* AppConfig
    yield* HttpServer.addressFormattedWith((address) =>
      Effect.logInfo(`Listening on ${Option.isSome(tls) ? address.replace(/^http:/, "https:") : address}`)
    )
  })
)

/** Outermost to innermost: request id, log line and security headers, then CORS. */
const serveWithEdge = Layer.unwrapEffect(
  Effect.gen(function* () {
    const settings = yield* AppConfig
    const draining = yield* Draining
    const edge = requestContext({
      trustProxy: settings.trustProxy,
      logRequests: LogLevel.greaterThanEqual(LogLevel.Info, settings.logLevel),
      decorate: securityHeaders({
        tls: Option.isSome(settings.tls),
        trustProxy: settings.trustProxy,
        draining: draining.active
      })
    })
    const cors = corsFor(settings.corsOrigins)
    // The edge makes each request's span itself (see requestContext).
    return HttpApiBuilder.serve((app) => edge(cors(app))).pipe(HttpMiddleware.withTracerDisabledWhen(() => true))
  })
)

/**
 * Built after the server, so that on shutdown the drain runs before the server lets go of its listener.
 * `routes` adds further routes to the API's router (the RPC server); they share its middleware.
 */
export const makeHttpLive = <E, R, E2 = never, R2 = never>(
  api: PlinthApi,
  handlers: Layer.Layer<never, E, R>,
  routes: Layer.Layer<never, E2, R2> = Layer.empty
) =>
  drainFirst.pipe(
    Layer.provide(
      serveWithEdge.pipe(
        Layer.provide(routes),
        // The page's fonts come from its own styles, not from Scalar's font CDN, which the policy would block.
        Layer.provide(HttpApiScalar.layer({ path: "/docs", scalar: { withDefaultFonts: false } })),
        Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
        Layer.provide(problemsMiddleware(api)),
        Layer.provide(apiLayer(api, handlers)),
        Layer.merge(logAddress),
        Layer.provide(NodeServerLive)
      )
    )
  )
