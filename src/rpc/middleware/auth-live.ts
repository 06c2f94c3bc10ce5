import { Effect, Layer } from "effect"
import { AppConfig } from "../../layers/config.js"
import { Unauthorized } from "../../services/errors.js"
import { Accounts } from "../../services/identity/accounts.js"
import { rpcClientInfo } from "../client-info.js"
import { RpcAuthentication, RpcAuthRateLimit } from "../groups/middleware.js"

const missingToken = new Unauthorized({ detail: "The access token is missing, invalid or expired" })

/** The same check as HTTP's bearer security: the token, then that its session is still live. */
export const RpcAuthenticationLive = Layer.effect(
  RpcAuthentication,
  Effect.map(Accounts, (accounts) =>
    RpcAuthentication.of(({ headers }) => {
      const match = /^Bearer\s+(\S+)$/i.exec(headers["authorization"] ?? "")
      return match?.[1] === undefined ? Effect.fail(missingToken) : accounts.authenticate(match[1])
    })
  )
)

export const RpcAuthRateLimitLive = Layer.effect(
  RpcAuthRateLimit,
  Effect.gen(function* () {
    const accounts = yield* Accounts
    const client = rpcClientInfo((yield* AppConfig).trustProxy)
    return RpcAuthRateLimit.of(() => Effect.flatMap(client, accounts.throttleClient))
  })
)
