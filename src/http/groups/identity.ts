import {
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiMiddleware,
  HttpApiSchema,
  HttpApiSecurity,
  OpenApi
} from "@effect/platform"
import { Schema } from "effect"
import { Forbidden, NotFound, TooManyRequests, Unauthorized, ValidationFailed } from "../../services/errors.js"
import { CurrentUser } from "../../services/identity/current-user.js"
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

/** Verifies `Authorization: Bearer <accessToken>` and provides the caller as `CurrentUser`. */
export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("app/Authentication", {
  failure: Unauthorized,
  provides: CurrentUser,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

/**
 * Counts every request to `/auth/*` against its client address before the body is read, so malformed and
 * rejected requests use up AUTH_RATE_LIMIT_PER_IP too.
 */
export class AuthRateLimit extends HttpApiMiddleware.Tag<AuthRateLimit>()("app/AuthRateLimit", {
  failure: TooManyRequests
}) {}

const IdPath = Schema.Struct({ id: Schema.UUID })

export class AuthGroup extends HttpApiGroup.make("auth")
  .add(
    HttpApiEndpoint.post("register", "/auth/register")
      .setPayload(RegisterRequest)
      .addSuccess(AuthResult, { status: 201 })
      .addError(EmailTaken)
  )
  .add(
    HttpApiEndpoint.post("login", "/auth/login")
      .setPayload(LoginRequest)
      .addSuccess(AuthResult)
      .addError(Unauthorized)
      .annotate(OpenApi.Description, "The same 401 whether or not the email exists.")
  )
  .add(
    HttpApiEndpoint.post("refresh", "/auth/refresh")
      .setPayload(RefreshRequest)
      .addSuccess(AuthResult)
      .addError(Unauthorized)
      .annotate(
        OpenApi.Description,
        "Single use: each refresh returns a new refresh token. Presenting a used one revokes the whole session."
      )
  )
  .add(HttpApiEndpoint.post("logout", "/auth/logout").setPayload(LogoutRequest).addSuccess(HttpApiSchema.NoContent))
  .middlewareEndpoints(AuthRateLimit)
  .add(HttpApiEndpoint.get("jwks", "/.well-known/jwks.json").addSuccess(Jwks))
  .addError(TooManyRequests)
  .annotate(OpenApi.Title, "Authentication") {}

export class SessionsGroup extends HttpApiGroup.make("sessions")
  .add(HttpApiEndpoint.get("list", "/auth/sessions").addSuccess(SessionList))
  .add(
    HttpApiEndpoint.del("revoke", "/auth/sessions/:id")
      .setPath(IdPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(NotFound)
  )
  .addError(TooManyRequests)
  .middleware(Authentication)
  // Added last, so it runs first: requests that fail authentication count too.
  .middleware(AuthRateLimit)
  .annotate(OpenApi.Title, "Sessions") {}

export class UsersGroup extends HttpApiGroup.make("users")
  .add(HttpApiEndpoint.get("profile", "/users/profile").addSuccess(User).addError(NotFound))
  .add(
    HttpApiEndpoint.put("updateProfile", "/users/profile")
      .setPayload(UpdateProfileRequest)
      .addSuccess(User)
      .addError(EmailTaken)
      .addError(NotFound)
  )
  .add(
    HttpApiEndpoint.put("changePassword", "/users/password")
      .setPayload(ChangePasswordRequest)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(ValidationFailed)
      .addError(TooManyRequests)
      .annotate(OpenApi.Description, "Every other session of the account is revoked.")
  )
  .add(
    HttpApiEndpoint.del("deleteAccount", "/users/account")
      .setPayload(DeleteAccountRequest)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(ValidationFailed)
      .addError(TooManyRequests)
      .annotate(OpenApi.Description, "Deletes the account with its sessions, projects and files.")
  )
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Users") {}

export class AdminGroup extends HttpApiGroup.make("admin")
  .add(HttpApiEndpoint.get("listUsers", "/admin/users").setUrlParams(ListUsersParams).addSuccess(UserPage))
  .add(
    HttpApiEndpoint.patch("updateUser", "/admin/users/:id")
      .setPath(IdPath)
      .setPayload(AdminUpdateUserRequest)
      .addSuccess(User)
      .addError(NotFound)
  )
  .add(
    HttpApiEndpoint.del("deleteUser", "/admin/users/:id")
      .setPath(IdPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(NotFound)
  )
  .addError(Forbidden)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Administration") {}
