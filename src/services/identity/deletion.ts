import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer } from "effect"
import { Events } from "../events/events.js"
import { IdentityStore, type SessionRef } from "./store.js"
import { Cache } from "../../layers/cache.js"
import { forgetProjects } from "../projects/cached.js"

export interface AccountDeletionShape {
  /**
   * In one transaction the user goes, and with them (by cascade) their sessions, projects and file metadata;
   * the stored file contents are handed to the storage purge consumer through an event in that transaction.
   */
  readonly deleteAccount: (userId: string, actor: string) => Effect.Effect<void>
}

export class AccountDeletion extends Context.Tag("app/AccountDeletion")<AccountDeletion, AccountDeletionShape>() {
  static readonly layer = Layer.effect(
    AccountDeletion,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const events = yield* Events
      const store = yield* IdentityStore
      const cache = yield* Cache

      const deleteAccount = Effect.fn("AccountDeletion.deleteAccount")(function* (userId: string, actor: string) {
        const { sessions, projectIds } = yield* sql
          .withTransaction(
            Effect.gen(function* () {
              // As in project deletion: uploads committing into these projects finish before the keys are read.
              const projects = yield* sql<{ id: string }>`select id from projects where owner_id = ${userId} for update`
              const sessions = yield* sql<SessionRef>`select id, user_id from sessions where user_id = ${userId}`
              const files = yield* sql<{ storageKey: string }>`
                select f.storage_key from files f join projects p on p.id = f.project_id where p.owner_id = ${userId}`
              yield* sql`delete from users where id = ${userId}`
              yield* events.record({ _tag: "user.deleted", actor, payload: { userId } })
              if (files.length > 0) {
                yield* events.record({
                  _tag: "storage.purge_requested",
                  actor,
                  payload: { keys: files.map((file) => file.storageKey), prefixes: [] }
                })
              }
              return { sessions, projectIds: projects.map((p) => p.id) }
            })
          )
          .pipe(Effect.orDie)
        yield* store.forgetSessions(sessions)
        yield* store.forgetProfile(userId)
        yield* forgetProjects(cache, projectIds)
      })

      return AccountDeletion.of({ deleteAccount })
    })
  )
}
