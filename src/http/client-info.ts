import { HttpServerRequest } from "@effect/platform"
import { Effect, Option } from "effect"
import { AppConfig } from "../layers/config.js"
import type { ClientInfo } from "../services/identity/accounts.js"

/** The client's address is the peer's, or with TRUST_PROXY the first hop a trusted proxy reports. */
export const clientInfoOf = (request: HttpServerRequest.HttpServerRequest, trustProxy: boolean): ClientInfo => {
  const forwarded = trustProxy ? request.headers["x-forwarded-for"]?.split(",")[0]?.trim() : undefined
  const ip = forwarded !== undefined && forwarded !== "" ? forwarded : Option.getOrNull(request.remoteAddress)
  return { ip, userAgent: request.headers["user-agent"] ?? null }
}

export const clientInfo = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const { trustProxy } = yield* AppConfig
  return clientInfoOf(request, trustProxy)
})
