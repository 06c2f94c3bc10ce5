import { SqlClient } from "@effect/sql"
import { Cause, Context, DateTime, Duration, Effect, Layer, Option, Schema } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { Cache, readThrough } from "../../layers/cache.js"
import { Cipher } from "../../layers/cipher.js"
import type { Actor } from "./current-user.js"
import { Events } from "../events/events.js"
import { User, type Role } from "./schema.js"
import { fromRows } from "../schema.js"

export interface UserRow {
  readonly id: string
  readonly email: string
  readonly passwordHash: string
  readonly name: string
  readonly role: Role
  readonly disabledAt: Date | null
  readonly createdAt: Date
  readonly updatedAt: Date
}

/** A session, as its cache key needs it. */
export interface SessionRef {
  readonly id: string
  readonly userId: string
}

export interface SessionState {
  readonly userId: string
  readonly role: Role
}

const SessionStateJson = Schema.parseJson(
  Schema.Struct({ userId: Schema.String, role: Schema.Literal("admin", "moderator", "user", "guest") })
)
const decodeSessionState = Schema.decodeUnknownOption(SessionStateJson)
/** A profile's cached form is its encoded JSON, the body of GET /users/profile, so a hit is served as it is. */
export const ProfileJson = Schema.parseJson(User)
const encodeProfileJson = Schema.encodeSync(ProfileJson)

export const REFRESH_TOKEN_TTL = Duration.days(7)
const SESSION_STATE_TTL = Duration.seconds(60)
const PROFILE_TTL = Duration.minutes(5)
const REVOKED = "revoked"

// A user's keys share the hash tag {userId}, so a session and its user's profile can be read in one MGET, on
// Redis Cluster too.
const sessionKey = (session: SessionRef) => `user:{${session.userId}}:session:${session.id}`
// The version changes with the shape of User, so a deploy never serves a profile cached in the old shape.
const profileKey = (userId: string) => `user:{${userId}}:profile:v1`

export const newRefreshToken = () => randomBytes(32).toString("base64url")
export const hashToken = (token: string) => createHash("sha256").update(token).digest()

/**
 * What the identity services share: user rows with the name decrypted, sessions and their cached state,
 * and the revocations that several operations perform.
 */
export interface IdentityStoreShape {
  readonly toUser: (row: UserRow) => Effect.Effect<User>
  readonly findUserById: (id: string) => Effect.Effect<Option.Option<UserRow>>
  readonly findUserByEmail: (email: string) => Effect.Effect<Option.Option<UserRow>>
  /** Opens a session (one login, one refresh-token family) and returns its id and first refresh token. */
  readonly openSession: (
    userId: string,
    client: { readonly ip: string | null; readonly userAgent: string | null }
  ) => Effect.Effect<{ readonly sessionId: string; readonly refreshToken: string }>
  /**
   * The caller holding `session`, with the role of its user; the session's state is cached for a minute. None
   * once the session is revoked, expired or its user disabled or gone. The same round trip reads the user's
   * cached profile for `cachedProfile`.
   */
  readonly actorOf: (session: SessionRef) => Effect.Effect<Option.Option<Actor>>
  /** Revokes sessions in the caller's transaction; call `forgetSessions` with the result after commit. */
  readonly revokeSessions: (
    where: { readonly userId: string; readonly except?: string } | { readonly sessionId: string },
    reason: "logout" | "revoked" | "password_changed" | "disabled" | "reuse_detected" | "deleted",
    actor: string | null
  ) => Effect.Effect<ReadonlyArray<SessionRef>>
  readonly forgetSessions: (sessions: ReadonlyArray<SessionRef>) => Effect.Effect<void>
  /** Drops the cached state of a user's live sessions, so the next request reloads role and status. */
  readonly reloadSessionsOf: (userId: string) => Effect.Effect<void>
  /** The actor's profile as JSON (see ProfileJson), from the cache or else the database; none if gone or disabled. */
  readonly cachedProfile: (actor: Actor) => Effect.Effect<Option.Option<string>>
  readonly forgetProfile: (userId: string) => Effect.Effect<void>
}

export class IdentityStore extends Context.Tag("app/IdentityStore")<IdentityStore, IdentityStoreShape>() {
  static readonly layer = Layer.effect(
    IdentityStore,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const cache = yield* Cache
      const cipher = yield* Cipher
      const events = yield* Events

      const toUser = (row: UserRow) =>
        Effect.map(
          // Imported users have no name until they set one; there is nothing to decrypt then.
          row.name === "" ? Effect.succeed("") : Effect.orDie(cipher.decrypt(row.name)),
          (name) =>
            new User(
              {
                id: row.id,
                email: row.email,
                name,
                role: row.role,
                createdAt: DateTime.unsafeFromDate(row.createdAt),
                updatedAt: DateTime.unsafeFromDate(row.updatedAt)
              },
              fromRows
            )
        )

      const findUserById = (id: string) =>
        sql<UserRow>`select * from users where id = ${id}`.pipe(
          Effect.map((rows) => Option.fromNullable(rows[0])),
          Effect.orDie,
          Effect.withSpan("IdentityStore.findUserById")
        )

      const findUserByEmail = (email: string) =>
        sql<UserRow>`select * from users where email = ${email}`.pipe(
          Effect.map((rows) => Option.fromNullable(rows[0])),
          Effect.orDie,
          Effect.withSpan("IdentityStore.findUserByEmail")
        )

      const openSession = Effect.fn("IdentityStore.openSession")(function* (
        userId: string,
        client: { readonly ip: string | null; readonly userAgent: string | null }
      ) {
        const refreshToken = newRefreshToken()
        const expiresAt = new Date(Date.now() + Duration.toMillis(REFRESH_TOKEN_TTL))
        const [session] = yield* sql<{ id: string }>`
          insert into sessions ${sql.insert({
            userId,
            ip: client.ip,
            userAgent: client.userAgent?.slice(0, 512) ?? null,
            expiresAt
          })} returning id`.pipe(Effect.orDie)
        const sessionId = session!.id
        yield* sql`insert into refresh_tokens ${sql.insert({
          tokenHash: hashToken(refreshToken),
          sessionId,
          expiresAt
        })}`.pipe(Effect.orDie)
        return { sessionId, refreshToken }
      })

      const loadSessionState = Effect.fnUntraced(function* (session: SessionRef) {
        const rows = yield* sql<SessionState>`
          update sessions s set last_used_at = now()
          from users u
          where s.id = ${session.id} and u.id = s.user_id
            and s.revoked_at is null and s.expires_at > now() and u.disabled_at is null
          returning s.user_id, u.role`.pipe(Effect.orDie)
        const state = Option.fromNullable(rows[0])
        yield* cache.set(
          sessionKey(session),
          Option.match(state, { onNone: () => REVOKED, onSome: (s) => JSON.stringify(s) }),
          SESSION_STATE_TTL
        )
        return state
      })

      // The profile read along with a session check, kept for the request's own actor only: one object per
      // request, so the entry goes with the request, and no other request can see it.
      const preloadedProfiles = new WeakMap<Actor, string>()

      // Untraced, as cache reads are: it runs on every authenticated request; a miss's query has its own span.
      const actorOf = Effect.fnUntraced(function* (session: SessionRef) {
        // GET /users/profile, the hot read that follows a session check, then costs no round trip of its own.
        const [cached = Option.none(), profile = Option.none()] = yield* cache.getMany([
          sessionKey(session),
          profileKey(session.userId)
        ])
        const state = Option.isNone(cached)
          ? yield* loadSessionState(session)
          : cached.value === REVOKED
            ? Option.none()
            : decodeSessionState(cached.value)
        if (Option.isNone(state) || state.value.userId !== session.userId) return Option.none<Actor>()
        const actor: Actor = { userId: session.userId, role: state.value.role, sessionId: session.id }
        if (Option.isSome(profile)) preloadedProfiles.set(actor, profile.value)
        return Option.some(actor)
      })

      const revokeSessions = Effect.fn("IdentityStore.revokeSessions")(function* (
        where: { readonly userId: string; readonly except?: string } | { readonly sessionId: string },
        reason: "logout" | "revoked" | "password_changed" | "disabled" | "reuse_detected" | "deleted",
        actor: string | null
      ) {
        const rows =
          "sessionId" in where
            ? yield* sql<SessionRef>`
                update sessions set revoked_at = now()
                where id = ${where.sessionId} and revoked_at is null returning id, user_id`.pipe(Effect.orDie)
            : yield* sql<SessionRef>`
                update sessions set revoked_at = now()
                where user_id = ${where.userId} and revoked_at is null
                  and id <> ${where.except ?? "00000000-0000-0000-0000-000000000000"}
                returning id, user_id`.pipe(Effect.orDie)
        yield* Effect.forEach(rows, (row) =>
          events.record({
            _tag: "session.revoked",
            actor,
            payload: { sessionId: row.id, userId: row.userId, reason }
          })
        )
        return rows
      })

      const forgetSessions = (sessions: ReadonlyArray<SessionRef>) =>
        Effect.forEach(sessions, (session) => cache.set(sessionKey(session), REVOKED, SESSION_STATE_TTL), {
          discard: true
        })

      const reloadSessionsOf = Effect.fn("IdentityStore.reloadSessionsOf")(function* (userId: string) {
        const rows = yield* sql<{ id: string }>`
          select id from sessions where user_id = ${userId} and revoked_at is null`.pipe(Effect.orDie)
        yield* Effect.forEach(rows, (row) => cache.delete(sessionKey({ id: row.id, userId })), { discard: true })
      })

      // No span, for the same reason as actorOf. A preloaded profile serves one read: a later read in the same
      // request, after an update say, goes to the cache again.
      const cachedProfile = (actor: Actor) => {
        const preloaded = preloadedProfiles.get(actor)
        if (preloaded !== undefined) {
          preloadedProfiles.delete(actor)
          return Effect.succeed(Option.some(preloaded))
        }
        return Effect.optionFromOptional(
          readThrough(cache, profileKey(actor.userId), PROFILE_TTL, () =>
            Effect.flatMap(findUserById(actor.userId), (row) =>
              Option.isNone(row) || row.value.disabledAt !== null
                ? new Cause.NoSuchElementException()
                : Effect.map(toUser(row.value), encodeProfileJson)
            )
          )
        )
      }

      return IdentityStore.of({
        toUser,
        findUserById,
        findUserByEmail,
        openSession,
        actorOf,
        revokeSessions,
        forgetSessions,
        reloadSessionsOf,
        cachedProfile,
        forgetProfile: (userId) => cache.delete(profileKey(userId))
      })
    })
  )
}
