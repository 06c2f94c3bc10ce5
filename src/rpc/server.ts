import { HttpApiBuilder, HttpServerRequest, type HttpServerResponse } from "@effect/platform"
import { RpcGroup, RpcSerialization, RpcServer } from "@effect/rpc"
import { Effect, Layer, Option } from "effect"
import { checkBodyLimit } from "../http/middleware/body-limit.js"
import { problemResponse } from "../http/middleware/problems.js"
import { AppConfig } from "../layers/config.js"
import { RPC_HTTP_PATH, RPC_WEBSOCKET_PATH } from "./groups/endpoints.js"
import { RpcObservabilityLive } from "./middleware/observability-live.js"
import { checkedProtocol } from "./protocol.js"

/**
 * Which RPCs exist is decided at start-up by the enabled modules, so the group's static type is widened here,
 * at this single fold, as the HttpApi's is (ADR 0007); clients use the modules' own static groups.
 */
export const foldRpcs = (groups: ReadonlyArray<RpcGroup.Any>): RpcGroup.RpcGroup<never> =>
  RpcGroup.make().merge(...groups)

const serverOptions = { spanPrefix: "Rpc", disableFatalDefects: true } as const

/**
 * NDJSON whose parser starts afresh after a line that is not JSON. The library's keeps the bad line in its buffer
 * and fails on it again with every later frame, which would leave a WebSocket answering nothing but defects.
 */
const ndjson = (maxBufferSize: number) => {
  const base = RpcSerialization.makeNdjson({ maxBufferSize })
  return RpcSerialization.RpcSerialization.of({
    ...base,
    unsafeMake: () => {
      let parser = base.unsafeMake()
      return {
        decode: (data) => {
          try {
            return parser.decode(data)
          } catch (error) {
            parser = base.unsafeMake()
            throw error
          }
        },
        encode: (message) => parser.encode(message)
      }
    }
  })
}

/** The body is read whole before it is parsed, so its size is bounded from its declared length first. */
const boundedBody =
  (limit: number) =>
  <E, R>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
      Option.match(checkBodyLimit(request, limit), {
        onNone: () => app,
        onSome: (problem) => Effect.succeed(problemResponse(problem, RPC_HTTP_PATH))
      })
    )

/**
 * Both protocols on the HTTP API's own router, so requests to them get the API's request ids, request logs and
 * error handling; each call is also logged and measured by `RpcObservability`. Frames and bodies are bounded
 * by JSON_BODY_LIMIT, like JSON requests.
 */
const routes = (group: RpcGroup.RpcGroup<never>) =>
  HttpApiBuilder.Router.use((router) =>
    Effect.gen(function* () {
      const { jsonBodyLimit } = yield* AppConfig
      const withSerialization = Effect.provideService(RpcSerialization.RpcSerialization, ndjson(jsonBodyLimit))
      const http = yield* withSerialization(RpcServer.makeProtocolWithHttpApp)
      const websocket = yield* withSerialization(RpcServer.makeProtocolWithHttpAppWebsocket)
      for (const { protocol } of [http, websocket]) {
        yield* RpcServer.make(group, serverOptions).pipe(
          Effect.provideService(RpcServer.Protocol, checkedProtocol(protocol, group.requests)),
          Effect.interruptible,
          Effect.forkScoped
        )
      }
      yield* router.post(RPC_HTTP_PATH, boundedBody(jsonBodyLimit)(http.httpApp))
      yield* router.get(RPC_WEBSOCKET_PATH, websocket.httpApp)
    })
  )

/** The enabled modules' RPCs, served at `/rpc` (HTTP, NDJSON) and `/rpc/ws` (WebSocket, NDJSON). */
export const makeRpcLive = <E, R>(groups: ReadonlyArray<RpcGroup.Any>, handlers: Layer.Layer<never, E, R>) =>
  routes(foldRpcs(groups)).pipe(Layer.provide(handlers), Layer.provide(RpcObservabilityLive))
