import { HttpApiBuilder, HttpServerRequest } from "@effect/platform"
import { Effect, Layer, Redacted } from "effect"
import { Accounts } from "../../services/identity/accounts.js"
import { Administration } from "../../services/identity/administration.js"
import { CurrentUser } from "../../services/identity/current-user.js"
import { Profiles } from "../../services/identity/profiles.js"
import { baseApi } from "../api.js"
import { AppConfig } from "../../layers/config.js"
import { clientInfo, clientInfoOf } from "../client-info.js"
import { withEtagJson } from "../etag.js"
import { AdminGroup, AuthGroup, Authentication, AuthRateLimit, SessionsGroup, UsersGroup } from "../groups/identity.js"

const IdentityApi = baseApi.add(AuthGroup).add(SessionsGroup).add(UsersGroup).add(AdminGroup)

export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.map(Accounts, (accounts) =>
    Authentication.of({
      // The request's span names who made it.
      bearer: (token) =>
        Effect.tap(accounts.authenticate(Redacted.value(token)), (actor) =>
          Effect.annotateCurrentSpan("enduser.id", actor.userId)
        )
    })
  )
)

const AuthRateLimitLive = Layer.effect(
  AuthRateLimit,
  Effect.gen(function* () {
    const accounts = yield* Accounts
    const { trustProxy } = yield* AppConfig
    return Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
      accounts.throttleClient(clientInfoOf(request, trustProxy))
    )
  })
)

const AuthHandlers = HttpApiBuilder.group(IdentityApi, "auth", (handlers) =>
  Effect.gen(function* () {
    const accounts = yield* Accounts
    return handlers
      .handle("register", ({ payload }) => Effect.flatMap(clientInfo, (client) => accounts.register(payload, client)))
      .handle("login", ({ payload }) => Effect.flatMap(clientInfo, (client) => accounts.login(payload, client)))
      .handle("refresh", ({ payload }) => accounts.refresh(payload.refreshToken))
      .handle("logout", ({ payload }) => accounts.logout(payload.refreshToken))
      .handle("jwks", () => Effect.succeed(accounts.jwks))
  })
)

const SessionsHandlers = HttpApiBuilder.group(IdentityApi, "sessions", (handlers) =>
  Effect.gen(function* () {
    const accounts = yield* Accounts
    return handlers
      .handle("list", () => Effect.flatMap(CurrentUser, accounts.sessions))
      .handle("revoke", ({ path }) => Effect.flatMap(CurrentUser, (actor) => accounts.revokeSession(actor, path.id)))
  })
)

const UsersHandlers = HttpApiBuilder.group(IdentityApi, "users", (handlers) =>
  Effect.gen(function* () {
    const profiles = yield* Profiles
    return handlers
      .handle("profile", () =>
        Effect.flatMap(CurrentUser, (actor) => Effect.flatMap(profiles.getJson(actor), withEtagJson))
      )
      .handle("updateProfile", ({ payload }) => Effect.flatMap(CurrentUser, (actor) => profiles.update(actor, payload)))
      .handle("changePassword", ({ payload }) =>
        Effect.flatMap(CurrentUser, (actor) =>
          profiles.changePassword(actor, payload.currentPassword, payload.newPassword)
        )
      )
      .handle("deleteAccount", ({ payload }) =>
        Effect.flatMap(CurrentUser, (actor) => profiles.deleteAccount(actor, payload.password))
      )
  })
)

const AdminHandlers = HttpApiBuilder.group(IdentityApi, "admin", (handlers) =>
  Effect.gen(function* () {
    const administration = yield* Administration
    return handlers
      .handle("listUsers", ({ urlParams }) =>
        Effect.flatMap(CurrentUser, (actor) => administration.list(actor, urlParams))
      )
      .handle("updateUser", ({ path, payload }) =>
        Effect.flatMap(CurrentUser, (actor) => administration.update(actor, path.id, payload))
      )
      .handle("deleteUser", ({ path }) => Effect.flatMap(CurrentUser, (actor) => administration.remove(actor, path.id)))
  })
)

export const IdentityHandlers = Layer.mergeAll(AuthHandlers, SessionsHandlers, UsersHandlers, AdminHandlers).pipe(
  Layer.provide([AuthenticationLive, AuthRateLimitLive])
)
