import { HttpApiBuilder, HttpApiScalar, HttpServer, HttpServerRequest } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Option } from "effect"
import { createServer, type Server } from "node:http"
import { AppConfig } from "../layers/config.js"
import { apiLayer, type PlinthApi } from "./api.js"
import { checkContentType, checkJsonBodyLimit } from "./middleware/body-limit.js"
import { problemResponse, withProblems } from "./middleware/problems.js"
import { requestContext } from "./middleware/request-context.js"

/** Runs inside the HttpApi, before its own error encoding, so every failure leaves as problem+json. */
const ProblemsMiddleware = HttpApiBuilder.middleware(
  Effect.map(
    AppConfig,
    ({ jsonBodyLimit }) =>
      (app) =>
        Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
          Option.match(
            Option.orElse(checkContentType(request), () => checkJsonBodyLimit(request, jsonBodyLimit)),
            {
              onNone: () => withProblems(app),
              onSome: (problem) =>
                Effect.succeed(problemResponse(problem, new URL(request.url, "http://plinth").pathname))
            }
          )
        )
  )
)

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

export const makeHttpLive = <E, R>(api: PlinthApi, handlers: Layer.Layer<never, E, R>) =>
  HttpApiBuilder.serve(requestContext).pipe(
    Layer.provide(HttpApiScalar.layer({ path: "/docs" })),
    Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
    Layer.provide(ProblemsMiddleware),
    Layer.provide(apiLayer(api, handlers)),
    HttpServer.withLogAddress,
    Layer.provide(NodeServerLive)
  )
