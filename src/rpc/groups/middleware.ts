import { RpcMiddleware } from "@effect/rpc"
import { Schema } from "effect"
import {
  InternalError,
  ServiceUnavailable,
  TooManyRequests,
  Unauthorized,
  ValidationFailed
} from "../../services/errors.js"
import { CurrentUser } from "../../services/identity/current-user.js"

/**
 * Verifies the Bearer access token a request carries (in its RPC headers or, over HTTP and WebSocket, in the
 * `Authorization` header of the connection) and provides the caller as `CurrentUser`, as HTTP's
 * `Authentication` does. Clients add the header through their side of this middleware.
 */
export class RpcAuthentication extends RpcMiddleware.Tag<RpcAuthentication>()("app/RpcAuthentication", {
  failure: Unauthorized,
  provides: CurrentUser,
  requiredForClient: true
}) {}

/** Counts each auth and session call against its client address (AUTH_RATE_LIMIT_PER_IP), as HTTP's `AuthRateLimit`. */
export class RpcAuthRateLimit extends RpcMiddleware.Tag<RpcAuthRateLimit>()("app/RpcAuthRateLimit", {
  failure: TooManyRequests
}) {}

/**
 * What any RPC may fail with besides its own errors: a payload that does not match its schema, a backing
 * service that is down, or an unexpected failure, reported without its internals.
 */
export const RpcProblem = Schema.Union(ValidationFailed, ServiceUnavailable, InternalError)

/** Gives every RPC a request id, a log line and metrics, and turns failures nobody declared into `RpcProblem`s. */
export class RpcObservability extends RpcMiddleware.Tag<RpcObservability>()("app/RpcObservability", {
  failure: RpcProblem,
  wrap: true
}) {}
