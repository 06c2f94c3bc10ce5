/**
 * `plinth/client`: typed clients for Plinth's RPC server. The groups are the server's own definitions, so a
 * consumer's compiler checks every call, payload, result and error against the server it talks to.
 */
import { FetchHttpClient, Headers, Socket } from "@effect/platform"
import { NodeSocket } from "@effect/platform-node"
import {
  type Rpc,
  RpcClient,
  type RpcClientError,
  RpcGroup,
  RpcMiddleware,
  RpcSchema,
  RpcSerialization
} from "@effect/rpc"
import { Cause, Context, Effect, Exit, Layer, ManagedRuntime, Schedule, type Scope, Stream } from "effect"
import { RPC_HTTP_PATH, RPC_WEBSOCKET_PATH } from "./groups/endpoints.js"
import { IdentityRpcs } from "./groups/identity.js"
import { RpcAuthentication } from "./groups/middleware.js"
import { ProjectsModuleRpcs } from "./groups/projects.js"

export * from "./groups/endpoints.js"
export * from "./groups/identity.js"
export * from "./groups/middleware.js"
export * from "./groups/projects.js"
export * from "../services/errors.js"
export { EmailTaken } from "../services/identity/errors.js"
export * from "../services/identity/schema.js"
export * from "../services/projects/schema.js"
export * from "../services/projects/file-schema.js"
export { ProjectCreated, ProjectDeleted, ProjectUpdated } from "../services/events/schema.js"

/** Every RPC of the core modules. */
export class PlinthRpcs extends RpcGroup.make().merge(IdentityRpcs, ProjectsModuleRpcs) {}

export type PlinthRpc = RpcGroup.Rpcs<typeof PlinthRpcs>

/** The RPCs of the plugin groups given in `ClientOptions.plugins`. */
export type PluginRpc<Plugins extends ReadonlyArray<RpcGroup.Any>> = RpcGroup.Rpcs<Plugins[number]>

/**
 * Grouped by the part of each RPC's name before the dot: `client.auth.register(...)`, `client.projects.list(...)`,
 * and for the plugins it was made with, `client.audit.list(...)`.
 */
export type PlinthClient<Extra extends Rpc.Any = never> = RpcClient.RpcClient<
  PlinthRpc | Extra,
  RpcClientError.RpcClientError
>

export interface ClientOptions<Plugins extends ReadonlyArray<RpcGroup.Any> = ReadonlyArray<never>> {
  /** The server's base URL, e.g. `http://localhost:3000`. */
  readonly url: string
  /** The access token for RPCs that need one; a function is asked before every call, so it may change. */
  readonly token?: string | (() => string | undefined) | undefined
  /**
   * `websocket` (`/rpc/ws`, one long-lived connection that reconnects by itself) or `http` (`/rpc`, a POST per
   * call, streams as streamed responses). Default `websocket`.
   */
  readonly transport?: "websocket" | "http" | undefined
  /**
   * The RPC groups of the plugins the server runs, from `plinth/client/plugins` (`[AuditRpcs, WebhooksRpcs]`).
   * A server without a plugin answers its RPCs with `NotFound`, so list only those its `PLUGINS` turns on.
   */
  readonly plugins?: Plugins | undefined
}

/**
 * The client's group. The spread widens the merge's static type, so it is restated here from the same groups.
 */
const clientGroup = <Plugins extends ReadonlyArray<RpcGroup.Any>>(plugins: Plugins | undefined) =>
  RpcGroup.make().merge(
    PlinthRpcs,
    ...((plugins ?? []) as ReadonlyArray<RpcGroup.RpcGroup<never>>)
  ) as unknown as RpcGroup.RpcGroup<PlinthRpc | PluginRpc<Plugins>>

const endpoint = (base: string, path: string, websocket: boolean) => {
  const url = new URL(path, base)
  if (websocket) url.protocol = url.protocol === "https:" ? "wss:" : "ws:"
  return url.toString()
}

const authorization = (token: ClientOptions["token"]) =>
  RpcMiddleware.layerClient(RpcAuthentication, ({ request }) =>
    Effect.sync(() => {
      const current = typeof token === "function" ? token() : token
      return current === undefined
        ? request
        : { ...request, headers: Headers.set(request.headers, "authorization", `Bearer ${current}`) }
    })
  )

const protocol = (options: Pick<ClientOptions, "url" | "transport">) =>
  options.transport === "http"
    ? RpcClient.layerProtocolHttp({ url: endpoint(options.url, RPC_HTTP_PATH, false) }).pipe(
        Layer.provide(FetchHttpClient.layer)
      )
    : RpcClient.layerProtocolSocket({ retryTransientErrors: true }).pipe(
        Layer.provide(Socket.layerWebSocket(endpoint(options.url, RPC_WEBSOCKET_PATH, true))),
        Layer.provide(NodeSocket.layerWebSocketConstructor)
      )

/** The Effect client; it stays connected until the scope closes. */
export const makeClient = <const Plugins extends ReadonlyArray<RpcGroup.Any> = ReadonlyArray<never>>(
  options: ClientOptions<Plugins>
): Effect.Effect<PlinthClient<PluginRpc<Plugins>>, never, Scope.Scope> =>
  Effect.flatMap(
    // Built in the caller's scope: the connection must outlive this effect.
    Layer.build(
      Layer.merge(protocol(options), authorization(options.token)).pipe(Layer.provide(RpcSerialization.layerNdjson))
    ),
    (context) => Effect.provide(RpcClient.make(clientGroup(options.plugins)), context)
  )

/**
 * The live feed of the caller's projects, subscribing again whenever the connection is lost (a server restart,
 * a network change). Each subscription starts with `feed.subscribed`; events from while it was down are not
 * replayed.
 */
export const projectEvents = (client: PlinthClient, retry: Schedule.Schedule<unknown> = Schedule.spaced("1 second")) =>
  client.projects
    .events()
    .pipe(
      Stream.retry(Schedule.whileInput(retry, (error: { readonly _tag: string }) => error._tag === "RpcClientError"))
    )

type PromiseMethod<R> =
  R extends Rpc.Rpc<infer _Tag, infer _Payload, infer Success, infer _Error, infer _Middleware>
    ? [Success] extends [RpcSchema.Stream<infer A, infer _E>]
      ? (payload: Rpc.PayloadConstructor<R>) => AsyncIterable<A["Type"]>
      : (payload: Rpc.PayloadConstructor<R>) => Promise<Success["Type"]>
    : never

type Methods<Rpcs extends Rpc.Any, Prefix extends string> = {
  readonly [R in Rpcs as R["_tag"] extends `${Prefix}.${infer Method}` ? Method : never]: PromiseMethod<R>
}

/**
 * For code that does not use Effect: every call returns a Promise (a stream an async iterable), and a failure
 * rejects with the server's tagged error itself (`error._tag === "EmailTaken"`), or an `RpcClientError`.
 */
export type PlinthPromiseClient<Extra extends Rpc.Any = never> = {
  readonly [Prefix in RpcClient.RpcClient.Prefixes<PlinthRpc | Extra>]: Methods<PlinthRpc | Extra, Prefix>
} & {
  /** Closes the connection. */
  readonly close: () => Promise<void>
}

type AnyMethod = (payload: unknown) => Effect.Effect<unknown, unknown> | Stream.Stream<unknown, unknown>

/** The Effect client, looked up by the names of its group's RPCs. */
class ClientService extends Context.Tag("plinth/client/Client")<
  ClientService,
  Record<string, Record<string, AnyMethod>>
>() {}

export const makePromiseClient = async <const Plugins extends ReadonlyArray<RpcGroup.Any> = ReadonlyArray<never>>(
  options: ClientOptions<Plugins>
): Promise<PlinthPromiseClient<PluginRpc<Plugins>>> => {
  // The typed client is generated from the same group, so each `prefix.method` of it exists; typed access by a
  // name only known at run time is what the loop below cannot express.
  const named = Effect.map(makeClient(options), (client) => client as unknown as ClientService["Type"])
  const runtime = ManagedRuntime.make(Layer.scoped(ClientService, named))
  const client = await runtime.runPromise(ClientService)
  const effectRuntime = await runtime.runtime()
  const groups: Record<string, Record<string, (payload: unknown) => unknown>> = {}
  for (const [tag, rpc] of clientGroup(options.plugins).requests) {
    const [prefix = "", method = ""] = tag.split(".")
    const call = client[prefix]![method]!
    const isStream = RpcSchema.isStreamSchema(rpc.successSchema)
    ;(groups[prefix] ??= {})[method] = isStream
      ? (payload) => Stream.toAsyncIterableRuntime(call(payload) as Stream.Stream<unknown, unknown>, effectRuntime)
      : (payload) =>
          runtime.runPromiseExit(call(payload) as Effect.Effect<unknown, unknown>).then((exit) => {
            if (Exit.isSuccess(exit)) return exit.value
            throw Cause.squash(exit.cause)
          })
  }
  return { ...groups, close: () => runtime.dispose() } as unknown as PlinthPromiseClient<PluginRpc<Plugins>>
}
