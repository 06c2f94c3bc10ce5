import { SqlClient } from "@effect/sql"
import { Context, DateTime, Duration, Effect, Either, Layer, Option, Redacted } from "effect"
import { AppConfig } from "../../layers/config.js"
import { Cipher } from "../../layers/cipher.js"
import { PasswordHasher } from "../../layers/password-hasher.js"
import { type RateLimited, RateLimiter } from "../../layers/rate-limiter.js"
import { TokenSigner } from "../../layers/token-signer.js"
import type { TooManyRequests } from "../errors.js"
import { NotFound, Unauthorized } from "../errors.js"
import { Events } from "../events/events.js"
import type { Actor } from "./current-user.js"
import { EmailTaken } from "./errors.js"
import { authAccountRule, authClientRule, loginFailureRule, tooManyRequests } from "./policy.js"
import { AuthResult, SessionList, SessionView, type User } from "./schema.js"
import { hashToken, IdentityStore, newRefreshToken, REFRESH_TOKEN_TTL, type SessionRef, type UserRow } from "./store.js"

export const ACCESS_TOKEN_TTL = Duration.minutes(15)

export interface ClientInfo {
  readonly ip: string | null
  readonly userAgent: string | null
}

const invalidCredentials = new Unauthorized({ detail: "The email or password is incorrect" })
const invalidRefreshToken = new Unauthorized({ detail: "The refresh token is invalid, expired or already used" })
const invalidAccessToken = new Unauthorized({ detail: "The access token is missing, invalid or expired" })

export interface AccountsShape {
  /** Counts one request to `/auth/*` against its client address (AUTH_RATE_LIMIT_PER_IP); each transport calls it first. */
  readonly throttleClient: (client: ClientInfo) => Effect.Effect<void, TooManyRequests>
  readonly register: (
    input: { readonly email: string; readonly password: Redacted.Redacted; readonly name: string },
    client: ClientInfo
  ) => Effect.Effect<AuthResult, EmailTaken | TooManyRequests>
  readonly login: (
    input: { readonly email: string; readonly password: Redacted.Redacted },
    client: ClientInfo
  ) => Effect.Effect<AuthResult, Unauthorized | TooManyRequests>
  readonly refresh: (refreshToken: string) => Effect.Effect<AuthResult, Unauthorized | TooManyRequests>
  readonly logout: (refreshToken: string) => Effect.Effect<void>
  /** Verifies an access token and that its session is still live; the role comes from the session, not the token. */
  readonly authenticate: (accessToken: string) => Effect.Effect<Actor, Unauthorized>
  readonly sessions: (actor: Actor) => Effect.Effect<SessionList>
  readonly revokeSession: (actor: Actor, sessionId: string) => Effect.Effect<void, NotFound>
  readonly jwks: TokenSignerJwks
}

type TokenSignerJwks = Context.Tag.Service<TokenSigner>["jwks"]

type Rotation =
  | { readonly _tag: "Invalid" }
  | { readonly _tag: "Limited"; readonly error: RateLimited }
  | { readonly _tag: "Reused"; readonly revoked: ReadonlyArray<SessionRef> }
  | { readonly _tag: "Rotated"; readonly userId: string; readonly sessionId: string; readonly refreshToken: string }

const invalid: Rotation = { _tag: "Invalid" }
const limited = (error: RateLimited): Rotation => ({ _tag: "Limited", error })
const reused = (revoked: ReadonlyArray<SessionRef>): Rotation => ({ _tag: "Reused", revoked })
const rotated = (userId: string, sessionId: string, refreshToken: string): Rotation => ({
  _tag: "Rotated",
  userId,
  sessionId,
  refreshToken
})

interface RefreshRow {
  readonly sessionId: string
  readonly usedAt: Date | null
  readonly tokenExpiresAt: Date
  readonly successorToken: string | null
  readonly revokedAt: Date | null
  readonly userId: string
}

export class Accounts extends Context.Tag("app/Accounts")<Accounts, AccountsShape>() {
  static readonly layer = Layer.effect(
    Accounts,
    Effect.gen(function* () {
      const settings = yield* AppConfig
      const sql = yield* SqlClient.SqlClient
      const hasher = yield* PasswordHasher
      const signer = yield* TokenSigner
      const cipher = yield* Cipher
      const limiter = yield* RateLimiter
      const events = yield* Events
      const store = yield* IdentityStore

      const perClient = authClientRule(settings.authRateLimitPerIp)
      const perAccount = authAccountRule(settings.authRateLimitPerAccount)
      const loginFailures = loginFailureRule(settings.loginFailureLimit)
      const throttleClient = (client: ClientInfo) =>
        limiter.consume(perClient, client.ip ?? "unknown").pipe(Effect.mapError(tooManyRequests))
      const throttleAccount = (key: string) => limiter.consume(perAccount, key).pipe(Effect.mapError(tooManyRequests))

      // Verifying against this when the email is unknown makes a failed login take as long either way.
      const dummyHash = yield* hasher.hash(Redacted.make(newRefreshToken()))

      const issue = Effect.fn("Accounts.issue")(function* (user: User, sessionId: string, refreshToken: string) {
        const accessToken = yield* signer.sign({ sub: user.id, role: user.role, sid: sessionId }, ACCESS_TOKEN_TTL)
        return new AuthResult({ user, accessToken, refreshToken, tokenType: "Bearer", expiresIn: 900 })
      })

      const register = Effect.fn("Accounts.register")(function* (
        input: { readonly email: string; readonly password: Redacted.Redacted; readonly name: string },
        client: ClientInfo
      ) {
        yield* throttleAccount(input.email)
        const passwordHash = yield* hasher.hash(input.password)
        const name = yield* cipher.encrypt(input.name)
        const { row, session } = yield* sql
          .withTransaction(
            Effect.gen(function* () {
              const rows = yield* sql<UserRow>`
                insert into users ${sql.insert({ email: input.email, passwordHash, name })}
                on conflict (email) do nothing returning *`
              const row = rows[0]
              if (row === undefined) return yield* new EmailTaken()
              const session = yield* store.openSession(row.id, client)
              yield* events.record({
                _tag: "user.registered",
                actor: row.id,
                payload: { userId: row.id, email: row.email }
              })
              return { row, session }
            })
          )
          .pipe(Effect.catchTag("SqlError", Effect.die))
        return yield* issue(yield* store.toUser(row), session.sessionId, session.refreshToken)
      })

      const login = Effect.fn("Accounts.login")(function* (
        input: { readonly email: string; readonly password: Redacted.Redacted },
        client: ClientInfo
      ) {
        yield* throttleAccount(input.email)
        yield* limiter.check(loginFailures, input.email).pipe(Effect.mapError(tooManyRequests))
        const found = yield* store.findUserByEmail(input.email)
        const stored = Option.match(found, { onNone: () => dummyHash, onSome: (row) => row.passwordHash })
        const matches = yield* hasher.verify(stored, input.password)
        if (!matches || Option.isNone(found) || found.value.disabledAt !== null) {
          yield* limiter.consume(loginFailures, input.email).pipe(Effect.ignore)
          return yield* invalidCredentials
        }
        const row = found.value
        yield* limiter.reset(loginFailures, input.email)
        if (hasher.needsRehash(row.passwordHash)) {
          const upgraded = yield* hasher.hash(input.password)
          yield* sql`update users set password_hash = ${upgraded} where id = ${row.id}`.pipe(Effect.orDie)
        }
        const session = yield* sql
          .withTransaction(
            Effect.gen(function* () {
              const session = yield* store.openSession(row.id, client)
              yield* events.record({
                _tag: "user.logged_in",
                actor: row.id,
                payload: { userId: row.id, sessionId: session.sessionId }
              })
              return session
            })
          )
          .pipe(Effect.orDie)
        return yield* issue(yield* store.toUser(row), session.sessionId, session.refreshToken)
      })

      /**
       * Check and rotation happen under a row lock on the presented token, so of two concurrent refreshes of
       * one token only the first mints a successor; the second sees it used.
       */
      const rotate = (refreshToken: string) =>
        sql.withTransaction(
          Effect.gen(function* () {
            const presented = hashToken(refreshToken)
            const [row] = yield* sql<RefreshRow>`
              select rt.session_id, rt.used_at, rt.expires_at as token_expires_at, rt.successor_token,
                     s.revoked_at, s.user_id
              from refresh_tokens rt join sessions s on s.id = rt.session_id
              where rt.token_hash = ${presented}
              for update of rt`
            if (row === undefined || row.revokedAt !== null) return invalid
            const allowed = yield* Effect.either(limiter.consume(perAccount, row.userId))
            if (Either.isLeft(allowed)) return limited(allowed.left)
            if (row.usedAt !== null) {
              const withinGrace =
                Date.now() - row.usedAt.getTime() <= settings.refreshReuseGraceSeconds * 1000 &&
                row.successorToken !== null
              if (withinGrace) {
                const successor = yield* Effect.orDie(cipher.decrypt(row.successorToken!))
                return rotated(row.userId, row.sessionId, successor)
              }
              const revoked = yield* store.revokeSessions({ sessionId: row.sessionId }, "reuse_detected", row.userId)
              return reused(revoked)
            }
            if (row.tokenExpiresAt.getTime() <= Date.now()) return invalid
            const successor = newRefreshToken()
            const expiresAt = new Date(Date.now() + Duration.toMillis(REFRESH_TOKEN_TTL))
            yield* sql`update refresh_tokens set used_at = now(), successor_hash = ${hashToken(successor)},
              successor_token = ${yield* cipher.encrypt(successor)} where token_hash = ${presented}`
            yield* sql`insert into refresh_tokens ${sql.insert({
              tokenHash: hashToken(successor),
              sessionId: row.sessionId,
              expiresAt
            })}`
            yield* sql`update sessions set last_used_at = now(), expires_at = ${expiresAt} where id = ${row.sessionId}`
            return rotated(row.userId, row.sessionId, successor)
          })
        )

      const refresh = Effect.fn("Accounts.refresh")(function* (refreshToken: string) {
        const outcome = yield* rotate(refreshToken).pipe(Effect.orDie)
        if (outcome._tag === "Invalid") return yield* invalidRefreshToken
        if (outcome._tag === "Limited") return yield* tooManyRequests(outcome.error)
        if (outcome._tag === "Reused") {
          yield* store.forgetSessions(outcome.revoked)
          return yield* invalidRefreshToken
        }
        const row = yield* store.findUserById(outcome.userId)
        if (Option.isNone(row) || row.value.disabledAt !== null) return yield* invalidRefreshToken
        return yield* issue(yield* store.toUser(row.value), outcome.sessionId, outcome.refreshToken)
      })

      const logout = Effect.fn("Accounts.logout")(function* (refreshToken: string) {
        const revoked = yield* sql
          .withTransaction(
            Effect.gen(function* () {
              const [row] = yield* sql<{ sessionId: string; userId: string }>`
                select rt.session_id, s.user_id from refresh_tokens rt join sessions s on s.id = rt.session_id
                where rt.token_hash = ${hashToken(refreshToken)}`
              if (row === undefined) return []
              return yield* store.revokeSessions({ sessionId: row.sessionId }, "logout", row.userId)
            })
          )
          .pipe(Effect.orDie)
        yield* store.forgetSessions(revoked)
      })

      // Runs on every authenticated request and mostly answers from memory: untraced, as cache reads are.
      const authenticate = Effect.fnUntraced(function* (accessToken: string) {
        const claims = yield* signer.verify(accessToken).pipe(Effect.mapError(() => invalidAccessToken))
        const actor = yield* store.actorOf({ id: claims.sid, userId: claims.sub })
        if (Option.isNone(actor)) return yield* invalidAccessToken
        return actor.value
      })

      const sessions = Effect.fn("Accounts.sessions")(function* (actor: Actor) {
        const rows = yield* sql<{
          id: string
          createdAt: Date
          lastUsedAt: Date
          userAgent: string | null
          ip: string | null
        }>`select id, created_at, last_used_at, user_agent, ip from sessions
           where user_id = ${actor.userId} and revoked_at is null and expires_at > now()
           order by created_at desc`.pipe(Effect.orDie)
        return new SessionList({
          items: rows.map(
            (row) =>
              new SessionView({
                id: row.id,
                createdAt: DateTime.unsafeFromDate(row.createdAt),
                lastUsedAt: DateTime.unsafeFromDate(row.lastUsedAt),
                userAgent: row.userAgent,
                ip: row.ip,
                current: row.id === actor.sessionId
              })
          )
        })
      })

      const revokeSession = Effect.fn("Accounts.revokeSession")(function* (actor: Actor, sessionId: string) {
        const revoked = yield* sql
          .withTransaction(
            Effect.gen(function* () {
              const [owned] = yield* sql`select 1 from sessions where id = ${sessionId} and user_id = ${actor.userId}
                and revoked_at is null`
              if (owned === undefined) return Option.none()
              return Option.some(yield* store.revokeSessions({ sessionId }, "revoked", actor.userId))
            })
          )
          .pipe(Effect.orDie)
        if (Option.isNone(revoked)) return yield* new NotFound({ detail: "No such session" })
        yield* store.forgetSessions(revoked.value)
      })

      return Accounts.of({
        throttleClient,
        register,
        login,
        refresh,
        logout,
        authenticate,
        sessions,
        revokeSession,
        jwks: signer.jwks
      })
    })
  )
}
