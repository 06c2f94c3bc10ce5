import { Effect, Layer } from "effect"
import { Unauthorized } from "../../services/errors.js"
import { Accounts } from "../../services/identity/accounts.js"
import { RpcAuthentication } from "../groups/middleware.js"

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
