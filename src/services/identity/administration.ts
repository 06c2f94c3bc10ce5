import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer, Option } from "effect"
import { Forbidden, NotFound, type ValidationFailed } from "../errors.js"
import { Events } from "../events/events.js"
import type { Actor } from "./current-user.js"
import { AccountDeletion } from "./deletion.js"
import { canAdministerUsers, canListUsers, requireRole } from "./policy.js"
import { decodeCursor, likePattern, pageOf } from "../pagination.js"
import { UserPage, type Role, type User } from "./schema.js"
import { IdentityStore, type UserRow } from "./store.js"
import { fromRows } from "../schema.js"

export interface ListUsers {
  readonly limit: number
  readonly cursor?: string | undefined
  readonly role?: Role | undefined
  readonly q?: string | undefined
}

export interface AdministrationShape {
  readonly list: (actor: Actor, query: ListUsers) => Effect.Effect<UserPage, Forbidden | ValidationFailed>
  readonly update: (
    actor: Actor,
    userId: string,
    changes: { readonly role?: Role | undefined; readonly disabled?: boolean | undefined }
  ) => Effect.Effect<User, Forbidden | NotFound>
  readonly remove: (actor: Actor, userId: string) => Effect.Effect<void, Forbidden | NotFound>
}

export class Administration extends Context.Tag("app/Administration")<Administration, AdministrationShape>() {
  static readonly layer = Layer.effect(
    Administration,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const events = yield* Events
      const store = yield* IdentityStore
      const deletion = yield* AccountDeletion

      const notFound = new NotFound({ detail: "No such user" })
      const notYourself = new Forbidden({ detail: "Administrators cannot change or delete their own account here" })

      const list = Effect.fn("Administration.list")(function* (actor: Actor, query: ListUsers) {
        yield* requireRole(actor, canListUsers, "list users")
        const after = yield* decodeCursor(query.cursor)
        const conditions = [
          ...(query.role === undefined ? [] : [sql`role = ${query.role}`]),
          ...(query.q === undefined ? [] : [sql`email ilike ${likePattern(query.q.toLowerCase())}`]),
          ...Option.match(after, {
            onNone: () => [],
            onSome: ([createdAt, id]) => [sql`(created_at, id) < (${createdAt}::timestamptz, ${id})`]
          })
        ]
        const rows = yield* sql<UserRow & { cursorAt: string }>`
          select *, created_at::text as cursor_at from users
          where ${sql.and(conditions)}
          order by created_at desc, id desc
          limit ${query.limit + 1}`.pipe(Effect.orDie)
        const { page, nextCursor } = pageOf(rows, query.limit)
        return new UserPage({ items: yield* Effect.forEach(page, store.toUser), nextCursor }, fromRows)
      })

      const update = Effect.fn("Administration.update")(function* (
        actor: Actor,
        userId: string,
        changes: { readonly role?: Role | undefined; readonly disabled?: boolean | undefined }
      ) {
        yield* requireRole(actor, canAdministerUsers, "change roles or disable users")
        if (userId === actor.userId) return yield* notYourself
        const outcome = yield* sql
          .withTransaction(
            Effect.gen(function* () {
              const [before] = yield* sql<UserRow>`select * from users where id = ${userId} for update`
              if (before === undefined) return Option.none()
              const disabledAt =
                changes.disabled === undefined
                  ? before.disabledAt
                  : changes.disabled
                    ? (before.disabledAt ?? new Date())
                    : null
              const role = changes.role ?? before.role
              const [after] = yield* sql<UserRow>`
                update users set ${sql.update({ role, disabledAt, updatedAt: new Date() })}
                where id = ${userId} returning *`
              if (role !== before.role) {
                yield* events.record({
                  _tag: "user.role_changed",
                  actor: actor.userId,
                  payload: { userId, from: before.role, to: role }
                })
              }
              const nowDisabled = disabledAt !== null
              if (nowDisabled !== (before.disabledAt !== null)) {
                yield* events.record({
                  _tag: "user.disabled",
                  actor: actor.userId,
                  payload: { userId, disabled: nowDisabled }
                })
              }
              const revoked =
                nowDisabled && before.disabledAt === null
                  ? yield* store.revokeSessions({ userId }, "disabled", actor.userId)
                  : []
              return Option.some({ row: after!, revoked })
            })
          )
          .pipe(Effect.orDie)
        if (Option.isNone(outcome)) return yield* notFound
        yield* store.forgetSessions(outcome.value.revoked)
        yield* store.reloadSessionsOf(userId)
        yield* store.forgetProfile(userId)
        return yield* store.toUser(outcome.value.row)
      })

      const remove = Effect.fn("Administration.remove")(function* (actor: Actor, userId: string) {
        yield* requireRole(actor, canAdministerUsers, "delete users")
        if (userId === actor.userId) return yield* notYourself
        if (Option.isNone(yield* store.findUserById(userId))) return yield* notFound
        yield* deletion.deleteAccount(userId, actor.userId)
      })

      return Administration.of({ list, update, remove })
    })
  )
}
