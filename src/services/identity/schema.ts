import { Schema } from "effect"
import { PageLimit } from "../pagination.js"
import { optionalField, strictRequest } from "../schema.js"

/**
 * JSON and query strings cannot carry `undefined`, so an optional field is absent or valid: `exact` keeps the
 * `| undefined` branch out of the schema, which would otherwise add an "Expected undefined" problem to every
 * invalid value.
 */
export const Role = Schema.Literal("admin", "moderator", "user", "guest").annotations({
  // `override`, or the union would report one "Expected ..." problem per member instead of this one.
  message: () => ({ message: "must be one of admin, moderator, user, guest", override: true })
})
export type Role = typeof Role.Type

export const Email = Schema.compose(Schema.Trim, Schema.Lowercase).pipe(
  Schema.maxLength(255, { message: () => "must be at most 255 characters" }),
  Schema.pattern(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, { message: () => "must be a valid email address" }),
  Schema.annotations({ identifier: "Email", description: "Trimmed and lower-cased; at most 255 characters" })
)

const PasswordText = Schema.String.pipe(
  Schema.minLength(8, { message: () => "must be at least 8 characters" }),
  Schema.maxLength(128, { message: () => "must be at most 128 characters" })
)
/** Held as `Redacted` from the moment it is decoded, so it cannot reach a log line or an error. */
export const Password = Schema.Redacted(PasswordText).annotations({ identifier: "Password" })

export const Name = Schema.Trim.pipe(
  Schema.minLength(1, { message: () => "must not be empty" }),
  Schema.maxLength(100, { message: () => "must be at most 100 characters" }),
  Schema.annotations({ identifier: "Name" })
)

export class User extends Schema.Class<User>("User")({
  id: Schema.UUID,
  email: Schema.String,
  name: Schema.String,
  role: Role,
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
}) {}

export class AuthResult extends Schema.Class<AuthResult>("AuthResult")({
  user: User,
  accessToken: Schema.String,
  refreshToken: Schema.String,
  tokenType: Schema.Literal("Bearer"),
  expiresIn: Schema.Literal(900)
}) {}

export class RegisterRequest extends Schema.Class<RegisterRequest>("RegisterRequest")(
  Schema.Struct({ email: Email, password: Password, name: Name }).annotations(strictRequest)
) {}

export class LoginRequest extends Schema.Class<LoginRequest>("LoginRequest")(
  Schema.Struct({
    email: Email,
    // Any length is accepted here: a login must fail the same way for every wrong password.
    password: Schema.Redacted(Schema.String.pipe(Schema.maxLength(1024)))
  }).annotations(strictRequest)
) {}

export const RefreshToken = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(512))

export class RefreshRequest extends Schema.Class<RefreshRequest>("RefreshRequest")(
  Schema.Struct({ refreshToken: RefreshToken }).annotations(strictRequest)
) {}

export class LogoutRequest extends Schema.Class<LogoutRequest>("LogoutRequest")(
  Schema.Struct({ refreshToken: RefreshToken }).annotations(strictRequest)
) {}

export class SessionView extends Schema.Class<SessionView>("Session")({
  id: Schema.UUID,
  createdAt: Schema.DateTimeUtc,
  lastUsedAt: Schema.DateTimeUtc,
  userAgent: Schema.NullOr(Schema.String),
  ip: Schema.NullOr(Schema.String),
  current: Schema.Boolean
}) {}

export class SessionList extends Schema.Class<SessionList>("SessionList")({ items: Schema.Array(SessionView) }) {}

export class UpdateProfileRequest extends Schema.Class<UpdateProfileRequest>("UpdateProfileRequest")(
  Schema.Struct({ name: optionalField(Name), email: optionalField(Email) }).annotations(strictRequest)
) {}

export class ChangePasswordRequest extends Schema.Class<ChangePasswordRequest>("ChangePasswordRequest")(
  Schema.Struct({
    currentPassword: Schema.Redacted(Schema.String.pipe(Schema.maxLength(1024))),
    newPassword: Password
  }).annotations(strictRequest)
) {}

export class DeleteAccountRequest extends Schema.Class<DeleteAccountRequest>("DeleteAccountRequest")(
  Schema.Struct({ password: Schema.Redacted(Schema.String.pipe(Schema.maxLength(1024))) }).annotations(strictRequest)
) {}

export class AdminUpdateUserRequest extends Schema.Class<AdminUpdateUserRequest>("AdminUpdateUserRequest")(
  Schema.Struct({ role: optionalField(Role), disabled: optionalField(Schema.Boolean) }).annotations(strictRequest)
) {}

export const ListUsersParams = Schema.Struct({
  limit: Schema.optionalWith(PageLimit, { default: () => 20, exact: true }),
  cursor: optionalField(Schema.String.pipe(Schema.maxLength(200))),
  role: optionalField(Role),
  q: optionalField(Schema.String.pipe(Schema.maxLength(255)))
})

export class UserPage extends Schema.Class<UserPage>("UserPage")({
  items: Schema.Array(User),
  nextCursor: Schema.NullOr(Schema.String)
}) {}

export class Jwks extends Schema.Class<Jwks>("Jwks")({
  keys: Schema.Array(
    Schema.Struct({
      kty: Schema.String,
      crv: Schema.String,
      x: Schema.String,
      kid: Schema.String,
      alg: Schema.String,
      use: Schema.String
    })
  )
}) {}
