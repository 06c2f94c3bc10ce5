import { HttpServerRequest } from "@effect/platform"
import { Effect, Option } from "effect"
import { clientInfoOf } from "../http/client-info.js"
import type { ClientInfo } from "../services/identity/accounts.js"

const unknownClient: ClientInfo = { ip: null, userAgent: null }

/**
 * Over either protocol an RPC runs in the fiber of the HTTP request that carried it (the POST, or the
 * WebSocket's upgrade), so the client is the one HTTP would see for that request.
 */
export const rpcClientInfo = (trustProxy: boolean) =>
  Effect.map(
    Effect.serviceOption(HttpServerRequest.HttpServerRequest),
    Option.match({ onNone: () => unknownClient, onSome: (request) => clientInfoOf(request, trustProxy) })
  )
