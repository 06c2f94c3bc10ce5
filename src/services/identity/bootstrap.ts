import { SqlClient } from "@effect/sql"
import { Effect, Layer, Option } from "effect"
import { AppConfig } from "../../layers/config.js"
import { Cipher } from "../../layers/cipher.js"
import { PasswordHasher } from "../../layers/password-hasher.js"
import { IdentityStore } from "./store.js"

/**
 * The first admin comes from ADMIN_EMAIL and ADMIN_PASSWORD, never from a public endpoint, and only while no
 * admin exists. If someone registered that email first, the account is taken over: promoted, given the
 * configured password and stripped of its sessions, so whoever registered it keeps nothing.
 */
export const AdminBootstrap = Layer.effectDiscard(
  Effect.gen(function* () {
    const { admin } = yield* AppConfig
    if (Option.isNone(admin)) return
    const sql = yield* SqlClient.SqlClient
    const hasher = yield* PasswordHasher
    const cipher = yield* Cipher
    const store = yield* IdentityStore
    const existing = yield* sql`select 1 from users where role = 'admin' limit 1`
    if (existing.length > 0) return
    const passwordHash = yield* hasher.hash(admin.value.password)
    const name = yield* cipher.encrypt("Administrator")
    const revoked = yield* sql.withTransaction(
      Effect.gen(function* () {
        const [taken] = yield* sql<{ id: string }>`select id from users where email = ${admin.value.email} for update`
        if (taken === undefined) {
          yield* sql`insert into users ${sql.insert({ email: admin.value.email, passwordHash, name, role: "admin" })}`
          return []
        }
        yield* sql`update users set role = 'admin', password_hash = ${passwordHash}, disabled_at = null,
          updated_at = now() where id = ${taken.id}`
        return yield* store.revokeSessions({ userId: taken.id }, "revoked", null)
      })
    )
    yield* store.forgetSessions(revoked)
    yield* Effect.logInfo("Created the first admin from ADMIN_EMAIL", admin.value.email)
  }).pipe(Effect.orDie, Effect.withSpan("AdminBootstrap"))
)
