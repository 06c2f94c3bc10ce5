import { HttpApi, HttpApiBuilder, HttpApiScalar, HttpServer, HttpServerRequest } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Option } from "effect"
import { createServer, type Server } from "node:http"
import { AppConfig } from "../layers/config.js"
import { apiLayer, type PlinthApi } from "./api.js"
import { checkContentType, checkJsonBodyLimit } from "./middleware/body-limit.js"
import { problemResponse, withProblems } from "./middleware/problems.js"
import { requestContext } from "./middleware/request-context.js"

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

const NodeServerLive = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ port, host }) => {
    const server = createServer()
    return boundedShutdown(server).pipe(Layer.provideMerge(NodeHttpServer.layer(() => server, { port, host })))
  })
)

/** `routes` adds further routes to the API's router (the RPC server); they share its middleware. */
export const makeHttpLive = <E, R, E2 = never, R2 = never>(
  api: PlinthApi,
  handlers: Layer.Layer<never, E, R>,
  routes: Layer.Layer<never, E2, R2> = Layer.empty
) =>
  HttpApiBuilder.serve(requestContext).pipe(
    Layer.provide(routes),
    Layer.provide(HttpApiScalar.layer({ path: "/docs" })),
    Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
    Layer.provide(problemsMiddleware(api)),
    Layer.provide(apiLayer(api, handlers)),
    HttpServer.withLogAddress,
    Layer.provide(NodeServerLive)
  )
