import { Effect, Layer } from "effect"
import { AppConfig } from "../../layers/config.js"
import { Accounts } from "../../services/identity/accounts.js"
import { Administration } from "../../services/identity/administration.js"
import { CurrentUser } from "../../services/identity/current-user.js"
import { Profiles } from "../../services/identity/profiles.js"
import { rpcClientInfo } from "../client-info.js"
import { AdminRpcs, AuthRpcs, ProfileRpcs, SessionsRpcs } from "../groups/identity.js"

const AuthHandlers = AuthRpcs.toLayer(
  Effect.gen(function* () {
    const accounts = yield* Accounts
    const client = rpcClientInfo((yield* AppConfig).trustProxy)
    return AuthRpcs.of({
      "auth.register": (payload) => Effect.flatMap(client, (info) => accounts.register(payload, info)),
      "auth.login": (payload) => Effect.flatMap(client, (info) => accounts.login(payload, info)),
      "auth.refresh": ({ refreshToken }) => accounts.refresh(refreshToken),
      "auth.logout": ({ refreshToken }) => accounts.logout(refreshToken),
      "auth.jwks": () => Effect.succeed(accounts.jwks)
    })
  })
)

const SessionsHandlers = SessionsRpcs.toLayer(
  Effect.gen(function* () {
    const accounts = yield* Accounts
    return SessionsRpcs.of({
      "sessions.list": () => Effect.flatMap(CurrentUser, accounts.sessions),
      "sessions.revoke": ({ id }) => Effect.flatMap(CurrentUser, (actor) => accounts.revokeSession(actor, id))
    })
  })
)

const ProfileHandlers = ProfileRpcs.toLayer(
  Effect.gen(function* () {
    const profiles = yield* Profiles
    return ProfileRpcs.of({
      "profile.get": () => Effect.flatMap(CurrentUser, (actor) => profiles.get(actor)),
      "profile.update": (payload) => Effect.flatMap(CurrentUser, (actor) => profiles.update(actor, payload)),
      "password.change": ({ currentPassword, newPassword }) =>
        Effect.flatMap(CurrentUser, (actor) => profiles.changePassword(actor, currentPassword, newPassword)),
      "account.delete": ({ password }) =>
        Effect.flatMap(CurrentUser, (actor) => profiles.deleteAccount(actor, password))
    })
  })
)

const AdminHandlers = AdminRpcs.toLayer(
  Effect.gen(function* () {
    const administration = yield* Administration
    return AdminRpcs.of({
      "admin.listUsers": (query) => Effect.flatMap(CurrentUser, (actor) => administration.list(actor, query)),
      "admin.updateUser": ({ id, ...changes }) =>
        Effect.flatMap(CurrentUser, (actor) => administration.update(actor, id, changes)),
      "admin.deleteUser": ({ id }) => Effect.flatMap(CurrentUser, (actor) => administration.remove(actor, id))
    })
  })
)

export const IdentityRpcHandlers = Layer.mergeAll(AuthHandlers, SessionsHandlers, ProfileHandlers, AdminHandlers)
