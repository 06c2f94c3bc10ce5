import { Rpc, RpcGroup } from "@effect/rpc"
import { Schema } from "effect"
import { Forbidden, NotFound, TooManyRequests, Unauthorized, ValidationFailed } from "../../services/errors.js"
import { EmailTaken } from "../../services/identity/errors.js"
import {
  AdminUpdateUserRequest,
  AuthResult,
  ChangePasswordRequest,
  DeleteAccountRequest,
  Jwks,
  ListUsersParams,
  LoginRequest,
  LogoutRequest,
  RefreshRequest,
  RegisterRequest,
  SessionList,
  UpdateProfileRequest,
  User,
  UserPage
} from "../../services/identity/schema.js"
import { strictRequest } from "../../services/schema.js"
import { RpcAuthentication, RpcAuthRateLimit, RpcObservability } from "./middleware.js"

/** Addresses one resource by id, as the HTTP paths' `{id}` does. */
export const ById = Schema.Struct({ id: Schema.UUID }).annotations(strictRequest)

/** The same operations as HTTP's `AuthGroup`; they need no access token. */
export class AuthRpcs extends RpcGroup.make(
  Rpc.make("auth.register", {
    payload: RegisterRequest,
    success: AuthResult,
    error: Schema.Union(EmailTaken, TooManyRequests)
  }),
  Rpc.make("auth.login", {
    payload: LoginRequest,
    success: AuthResult,
    error: Schema.Union(Unauthorized, TooManyRequests)
  }),
  Rpc.make("auth.refresh", {
    payload: RefreshRequest,
    success: AuthResult,
    error: Schema.Union(Unauthorized, TooManyRequests)
  }),
  Rpc.make("auth.logout", { payload: LogoutRequest, error: TooManyRequests })
)
  // Only the calls above: the key set stays public and unlimited, as over HTTP.
  .middleware(RpcAuthRateLimit)
  .add(Rpc.make("auth.jwks", { success: Jwks }))
  .middleware(RpcObservability) {}

export class SessionsRpcs extends RpcGroup.make(
  Rpc.make("sessions.list", { success: SessionList, error: TooManyRequests }),
  Rpc.make("sessions.revoke", { payload: ById, error: Schema.Union(NotFound, TooManyRequests) })
)
  .middleware(RpcAuthentication)
  .middleware(RpcAuthRateLimit)
  .middleware(RpcObservability) {}

export class ProfileRpcs extends RpcGroup.make(
  Rpc.make("profile.get", { success: User, error: NotFound }),
  Rpc.make("profile.update", {
    payload: UpdateProfileRequest,
    success: User,
    error: Schema.Union(EmailTaken, NotFound)
  }),
  Rpc.make("password.change", {
    payload: ChangePasswordRequest,
    error: Schema.Union(NotFound, ValidationFailed, TooManyRequests)
  }),
  Rpc.make("account.delete", {
    payload: DeleteAccountRequest,
    error: Schema.Union(NotFound, ValidationFailed, TooManyRequests)
  })
)
  .middleware(RpcAuthentication)
  .middleware(RpcObservability) {}

export class AdminRpcs extends RpcGroup.make(
  Rpc.make("admin.listUsers", {
    payload: ListUsersParams.annotations(strictRequest),
    success: UserPage,
    error: Schema.Union(Forbidden, ValidationFailed)
  }),
  Rpc.make("admin.updateUser", {
    payload: Schema.Struct({ id: Schema.UUID, ...AdminUpdateUserRequest.fields }).annotations(strictRequest),
    success: User,
    error: Schema.Union(Forbidden, NotFound)
  }),
  Rpc.make("admin.deleteUser", { payload: ById, error: Schema.Union(Forbidden, NotFound) })
)
  .middleware(RpcAuthentication)
  .middleware(RpcObservability) {}

/** Accounts, sessions, profiles, passwords and administration: every operation of the identity module. */
export class IdentityRpcs extends RpcGroup.make().merge(AuthRpcs, SessionsRpcs, ProfileRpcs, AdminRpcs) {}
