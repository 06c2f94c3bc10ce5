import { Layer } from "effect"
import { AdminGroup, AuthGroup, SessionsGroup, UsersGroup } from "../../http/groups/identity.js"
import { AuthenticationLive, IdentityHandlers } from "../../http/handlers/identity.js"
import { Accounts } from "../../services/identity/accounts.js"
import { Administration } from "../../services/identity/administration.js"
import { AdminBootstrap } from "../../services/identity/bootstrap.js"
import { AccountDeletion } from "../../services/identity/deletion.js"
import { identityMigrations } from "../../services/identity/migrations.js"
import { Profiles } from "../../services/identity/profiles.js"
import { IdentityStore } from "../../services/identity/store.js"
import { IdentityRpcs } from "../../rpc/groups/identity.js"
import { IdentityRpcHandlers } from "../../rpc/handlers/identity.js"
import { RpcAuthenticationLive, RpcAuthRateLimitLive } from "../../rpc/middleware/auth-live.js"
import { defineModule } from "../module.js"

/** Shared with the modules whose endpoints need authentication; built once however many use it. */
export const IdentityServices = Layer.mergeAll(
  Accounts.layer,
  Profiles.layer,
  Administration.layer,
  AdminBootstrap
).pipe(Layer.provideMerge(AccountDeletion.layer), Layer.provideMerge(IdentityStore.layer))

/** Accounts, sessions, profiles, roles and administration. */
export const IdentityModule = defineModule({
  name: "identity",
  migrations: identityMigrations,
  groups: [AuthGroup, SessionsGroup, UsersGroup, AdminGroup],
  http: IdentityHandlers.pipe(Layer.provide(IdentityServices)),
  rpc: {
    group: IdentityRpcs,
    handlers: Layer.mergeAll(IdentityRpcHandlers, RpcAuthenticationLive, RpcAuthRateLimitLive).pipe(
      Layer.provide(IdentityServices)
    )
  },
  consumers: []
})

/** The bearer-token middleware, for other modules' authenticated groups. */
export const Authenticated = AuthenticationLive.pipe(Layer.provide(IdentityServices))

/** The same for other modules' authenticated RPCs; merged into their RPC handlers. */
export const RpcAuthenticated = RpcAuthenticationLive.pipe(Layer.provide(IdentityServices))
