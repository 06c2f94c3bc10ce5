import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Context, Effect, Layer, Option, type Redacted, Schema } from "effect"
import { AppConfig } from "../../layers/config.js"
import { Cipher } from "../../layers/cipher.js"
import { sqlState } from "../../layers/database.js"
import { PasswordHasher } from "../../layers/password-hasher.js"
import { RateLimiter } from "../../layers/rate-limiter.js"
import { FieldProblem, NotFound, TooManyRequests, ValidationFailed } from "../errors.js"
import type { Actor } from "./current-user.js"
import { AccountDeletion } from "./deletion.js"
import { loginFailureRule } from "./policy.js"
import { EmailTaken } from "./errors.js"
import type { User } from "./schema.js"
import { IdentityStore, ProfileJson, type UserRow } from "./store.js"

const decodeProfileJson = Schema.decodeUnknown(ProfileJson)

export const isUniqueViolation = (error: SqlError) => sqlState(error) === "23505"

const wrongPassword = (path: string) =>
  new ValidationFailed({
    detail: "The password is incorrect",
    errors: [new FieldProblem({ path, message: "is incorrect" })]
  })

export interface ProfilesShape {
  readonly get: (actor: Actor) => Effect.Effect<User, NotFound>
  /** The same profile as its JSON body, for transports that send it on unchanged (the hot path of HTTP). */
  readonly getJson: (actor: Actor) => Effect.Effect<string, NotFound>
  readonly update: (
    actor: Actor,
    changes: { readonly name?: string | undefined; readonly email?: string | undefined }
  ) => Effect.Effect<User, NotFound | EmailTaken>
  /** Every session but the current one is revoked. */
  readonly changePassword: (
    actor: Actor,
    current: Redacted.Redacted,
    next: Redacted.Redacted
  ) => Effect.Effect<void, NotFound | ValidationFailed | TooManyRequests>
  readonly deleteAccount: (
    actor: Actor,
    password: Redacted.Redacted
  ) => Effect.Effect<void, NotFound | ValidationFailed | TooManyRequests>
}

export class Profiles extends Context.Tag("app/Profiles")<Profiles, ProfilesShape>() {
  static readonly layer = Layer.effect(
    Profiles,
    Effect.gen(function* () {
      const settings = yield* AppConfig
      const sql = yield* SqlClient.SqlClient
      const hasher = yield* PasswordHasher
      const cipher = yield* Cipher
      const limiter = yield* RateLimiter
      const store = yield* IdentityStore
      const deletion = yield* AccountDeletion

      const passwordFailures = loginFailureRule(settings.loginFailureLimit)
      const notFound = new NotFound({ detail: "The account no longer exists" })

      const getJson = (actor: Actor) =>
        Effect.flatMap(
          store.cachedProfile(actor),
          Option.match({ onNone: () => Effect.fail(notFound), onSome: Effect.succeed })
        )
      const get = (actor: Actor) => Effect.flatMap(getJson(actor), (json) => Effect.orDie(decodeProfileJson(json)))

      /** A wrong password counts as a failed login, so these endpoints cannot be used to guess one. */
      const confirmPassword = Effect.fn("Profiles.confirmPassword")(function* (
        actor: Actor,
        password: Redacted.Redacted,
        path: string
      ) {
        const row = yield* store.findUserById(actor.userId)
        if (Option.isNone(row)) return yield* notFound
        yield* limiter.check(passwordFailures, row.value.email).pipe(
          Effect.mapError(
            (e) =>
              new TooManyRequests({
                detail: "Too many wrong passwords; retry later",
                retryAfter: e.retryAfterSeconds
              })
          )
        )
        if (!(yield* hasher.verify(row.value.passwordHash, password))) {
          yield* limiter.consume(passwordFailures, row.value.email).pipe(Effect.ignore)
          return yield* wrongPassword(path)
        }
        return row.value
      })

      const update = Effect.fn("Profiles.update")(function* (
        actor: Actor,
        changes: { readonly name?: string | undefined; readonly email?: string | undefined }
      ) {
        const assignments = {
          ...(changes.email === undefined ? {} : { email: changes.email }),
          ...(changes.name === undefined ? {} : { name: yield* cipher.encrypt(changes.name) })
        }
        const rows =
          Object.keys(assignments).length === 0
            ? yield* sql<UserRow>`select * from users where id = ${actor.userId}`.pipe(Effect.orDie)
            : yield* sql<UserRow>`update users set ${sql.update({ ...assignments, updatedAt: new Date() })}
                where id = ${actor.userId} returning *`.pipe(
                Effect.catchTag("SqlError", (error) =>
                  isUniqueViolation(error) ? new EmailTaken() : Effect.die(error)
                )
              )
        const row = rows[0]
        if (row === undefined) return yield* notFound
        yield* store.forgetProfile(actor.userId)
        return yield* store.toUser(row)
      })

      const changePassword = Effect.fn("Profiles.changePassword")(function* (
        actor: Actor,
        current: Redacted.Redacted,
        next: Redacted.Redacted
      ) {
        const row = yield* confirmPassword(actor, current, "currentPassword")
        const passwordHash = yield* hasher.hash(next)
        const revoked = yield* sql
          .withTransaction(
            Effect.gen(function* () {
              yield* sql`update users set password_hash = ${passwordHash}, updated_at = now() where id = ${row.id}`
              return yield* store.revokeSessions(
                { userId: row.id, except: actor.sessionId },
                "password_changed",
                actor.userId
              )
            })
          )
          .pipe(Effect.orDie)
        yield* store.forgetSessions(revoked)
        yield* limiter.reset(passwordFailures, row.email)
      })

      const deleteAccount = Effect.fn("Profiles.deleteAccount")(function* (actor: Actor, password: Redacted.Redacted) {
        yield* confirmPassword(actor, password, "password")
        yield* deletion.deleteAccount(actor.userId, actor.userId)
      })

      return Profiles.of({ get, getJson, update, changePassword, deleteAccount })
    })
  )
}
