import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { hash as bcryptHash } from "@node-rs/bcrypt"
import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Option, Redacted, String as Str } from "effect"
import { randomUUID } from "node:crypto"
import { Cipher } from "../../src/layers/cipher.js"
import { makeCipherAesGcm } from "../../src/layers/crypto/aes-gcm.js"
import { loadKeyMaterial } from "../../src/layers/crypto/keys.js"
import type { User } from "../../src/services/identity/schema.js"
import { startServer, TestServer } from "../support/server.js"
import { tempDir } from "../support/settings.js"
import {
  ADMIN,
  apiClient,
  backends,
  expectNothingLeaked,
  expectProblem,
  fieldPaths,
  identityServer,
  login,
  loginAdmin,
  PASSWORD,
  profileStatus,
  refreshStatus,
  register,
  request,
  responseBodies
} from "./harness.js"

const adminToken = Effect.map(loginAdmin, (auth) => auth.accessToken)

/**
 * A connection of the test's own to the server's PostgreSQL database, with the server's encryption keys: what an
 * operator importing users from another system would use.
 */
const directDatabase = <A, E>(
  use: (sql: SqlClient.SqlClient, encrypt: (text: string) => Effect.Effect<string>) => Effect.Effect<A, E>
) =>
  Effect.gen(function* () {
    const { settings } = yield* TestServer
    const url = Option.getOrThrow(settings.databaseUrl)
    const keys = yield* Effect.orDie(loadKeyMaterial(settings))
    return yield* Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const cipher = yield* Cipher
      return yield* use(sql, cipher.encrypt)
    }).pipe(
      Effect.provide(makeCipherAesGcm(keys.encryption)),
      Effect.provide(
        PgClient.layer({
          url,
          maxConnections: 1,
          transformQueryNames: Str.camelToSnake,
          transformResultNames: Str.snakeToCamel
        })
      ),
      Effect.orDie
    )
  })

describe.each(backends)("Administration on $name", (backend) => {
  layer(identityServer(backend), { timeout: "120 seconds", excludeTestServices: true })((it) => {
    it.effect("pages through users newest first with an opaque cursor, filtered by role and email", () =>
      Effect.gen(function* () {
        const tag = randomUUID().slice(0, 8)
        const created: Array<User> = []
        for (let i = 0; i < 5; i++) {
          created.push((yield* register({ email: `page-${tag}-${i}@example.com` })).auth.user)
        }
        const admin = yield* apiClient(yield* adminToken)
        yield* admin.admin.updateUser({ path: { id: created[1]!.id }, payload: { role: "guest" } })
        yield* admin.admin.updateUser({ path: { id: created[3]!.id }, payload: { role: "guest" } })

        const seen: Array<string> = []
        let cursor: string | undefined = undefined
        let pages = 0
        do {
          const page: { items: ReadonlyArray<User>; nextCursor: string | null } = yield* admin.admin.listUsers({
            urlParams: { limit: 2, q: `PAGE-${tag}`, ...(cursor === undefined ? {} : { cursor }) }
          })
          expect(page.items.length).toBeLessThanOrEqual(2)
          seen.push(...page.items.map((user) => user.id))
          cursor = page.nextCursor ?? undefined
          pages++
        } while (cursor !== undefined && pages < 10)
        expect(pages).toBe(3)
        expect(seen).toEqual(created.map((user) => user.id).reverse())

        const guests = yield* admin.admin.listUsers({ urlParams: { limit: 20, role: "guest", q: tag } })
        expect(guests.items.map((user) => user.id).sort()).toEqual([created[1]!.id, created[3]!.id].sort())
        expect(guests.items.every((user) => user.role === "guest")).toBe(true)
        expect(guests.nextCursor).toBeNull()
        const wildcard = yield* admin.admin.listUsers({ urlParams: { limit: 20, q: "%" } })
        expect(wildcard.items).toEqual([])

        const raw = yield* request("GET", `/admin/users?limit=1&q=page-${tag}`, { token: yield* adminToken })
        expect(raw.json).toMatchObject({
          items: [{ id: created[4]!.id, email: `page-${tag}-4@example.com`, name: "Test User", role: "user" }],
          nextCursor: expect.any(String)
        })
        expect(Object.keys((raw.json as { items: Array<object> }).items[0]!).sort()).toEqual(
          ["createdAt", "email", "id", "name", "role", "updatedAt"].sort()
        )
      })
    )

    it.effect("answers a bad cursor, limit or role filter with a 400 naming the parameter", () =>
      Effect.gen(function* () {
        const token = yield* adminToken
        const cases: ReadonlyArray<readonly [string, string]> = [
          ["cursor=not-a-cursor", "cursor"],
          [`cursor=${Buffer.from('["x","y"]').toString("base64url")}`, "cursor"],
          ["limit=0", "limit"],
          ["limit=101", "limit"],
          ["limit=ten", "limit"],
          ["limit=1.5", "limit"],
          ["role=superuser", "role"]
        ]
        for (const [query, path] of cases) {
          const response = yield* request("GET", `/admin/users?${query}`, { token })
          expectProblem(response, 400, "validation-failed")
          expect(fieldPaths(response), query).toEqual([path])
        }
      })
    )

    it.effect("disabling a user revokes their sessions at once; login then fails like a wrong password", () =>
      Effect.gen(function* () {
        const account = yield* register()
        const other = yield* login(account.email, PASSWORD)
        expect(yield* profileStatus(account.auth.accessToken)).toBe(200)
        expect(yield* profileStatus(other.accessToken)).toBe(200)
        const admin = yield* apiClient(yield* adminToken)
        const id = account.auth.user.id

        const disabled = yield* admin.admin.updateUser({ path: { id }, payload: { disabled: true } })
        expect(disabled).toMatchObject({ id, role: "user" })
        for (const token of [account.auth.accessToken, other.accessToken]) {
          expectProblem(yield* request("GET", "/users/profile", { token }), 401)
        }
        for (const token of [account.auth.refreshToken, other.refreshToken])
          expect(yield* refreshStatus(token)).toBe(401)
        const refused = yield* request("POST", "/auth/login", { body: { email: account.email, password: PASSWORD } })
        const wrong = yield* request("POST", "/auth/login", { body: { email: account.email, password: "wrong one!" } })
        expectProblem(refused, 401)
        expect(refused.json).toEqual(wrong.json)

        const enabled = yield* admin.admin.updateUser({ path: { id }, payload: { disabled: false } })
        expect(enabled.id).toBe(id)
        const back = yield* login(account.email, PASSWORD)
        expect(yield* profileStatus(back.accessToken)).toBe(200)
        expect(yield* profileStatus(other.accessToken)).toBe(401)
      })
    )

    it.effect("deletes a user with 204, as account deletion; a second delete is 404", () =>
      Effect.gen(function* () {
        const account = yield* register()
        const token = yield* adminToken
        const id = account.auth.user.id
        expect(yield* profileStatus(account.auth.accessToken)).toBe(200)
        const removed = yield* request("DELETE", `/admin/users/${id}`, { token })
        expect(removed.status).toBe(204)
        expect(removed.text).toBe("")
        expect(yield* profileStatus(account.auth.accessToken)).toBe(401)
        expect(yield* refreshStatus(account.auth.refreshToken)).toBe(401)
        expectProblem(
          yield* request("POST", "/auth/login", { body: { email: account.email, password: PASSWORD } }),
          401
        )
        const list = yield* (yield* apiClient(token)).admin.listUsers({ urlParams: { limit: 20, q: account.email } })
        expect(list.items).toEqual([])
        expectProblem(yield* request("DELETE", `/admin/users/${id}`, { token }), 404, "not-found")
        expectProblem(yield* request("PATCH", `/admin/users/${id}`, { token, body: { role: "user" } }), 404)
        expectProblem(yield* request("DELETE", "/admin/users/not-a-uuid", { token }), 400)
      })
    )

    it.effect("an admin may not demote, disable or delete themselves here", () =>
      Effect.gen(function* () {
        const auth = yield* loginAdmin
        const id = auth.user.id
        for (const body of [{ role: "user" }, { disabled: true }]) {
          expectProblem(yield* request("PATCH", `/admin/users/${id}`, { token: auth.accessToken, body }), 403)
        }
        expectProblem(yield* request("DELETE", `/admin/users/${id}`, { token: auth.accessToken }), 403)
        expect((yield* login(ADMIN.email, ADMIN.password)).user.role).toBe("admin")
      })
    )

    it.effect("an admin made by the first admin administers too, until demoted", () =>
      Effect.gen(function* () {
        const second = yield* register()
        const first = yield* apiClient(yield* adminToken)
        yield* first.admin.updateUser({ path: { id: second.auth.user.id }, payload: { role: "admin" } })
        const target = yield* register()
        const token = second.auth.accessToken
        const changed = yield* request("PATCH", `/admin/users/${target.auth.user.id}`, {
          token,
          body: { role: "moderator", disabled: false }
        })
        expect(changed.status).toBe(200)
        expect(changed.json).toMatchObject({ role: "moderator" })
        yield* first.admin.updateUser({ path: { id: second.auth.user.id }, payload: { role: "user" } })
        expectProblem(yield* request("DELETE", `/admin/users/${target.auth.user.id}`, { token }), 403)
        expect(yield* profileStatus(target.auth.accessToken)).toBe(200)
      })
    )

    it.effect.runIf(backend.postgres)(
      "imports users with bcrypt hashes ($2a$/$2b$, cost 12): login works and rehashes to argon2id",
      () =>
        Effect.gen(function* () {
          const imported = yield* Effect.forEach(["2a", "2b"] as const, (version) =>
            Effect.gen(function* () {
              const email = `imported-${version}-${randomUUID().slice(0, 8)}@example.com`
              const password = `legacy password ${version}`
              // The library writes $2y$; $2a$, $2b$ and $2y$ differ only for passwords over 255 bytes, so the
              // relabelled hash is what another system would have stored for this password.
              const hash = (yield* Effect.promise(() => bcryptHash(password, 12))).replace(/^\$2y\$/, `$${version}$`)
              expect(hash.startsWith(`$${version}$12$`)).toBe(true)
              yield* directDatabase((sql, encrypt) =>
                Effect.gen(function* () {
                  const name = yield* encrypt(`Imported ${version}`)
                  yield* sql`insert into users ${sql.insert({ email, passwordHash: hash, name })}`
                })
              )
              return { email, password, version }
            })
          )
          // A row written without a name (the column's default, as a plain SQL import would leave it).
          const bare = { email: `imported-bare-${randomUUID().slice(0, 8)}@example.com`, password: "legacy bare pw" }
          const bareHash = yield* Effect.promise(() => bcryptHash(bare.password, 12))
          yield* directDatabase((sql) =>
            sql`insert into users (email, password_hash) values (${bare.email}, ${bareHash})`.pipe(Effect.asVoid)
          )
          const bareLogin = yield* login(bare.email, bare.password)
          expect(bareLogin.user).toMatchObject({ email: bare.email, name: "", role: "user" })
          expect((yield* (yield* apiClient(bareLogin.accessToken)).users.profile()).name).toBe("")
          const named = yield* (yield* apiClient(bareLogin.accessToken)).users.updateProfile({
            payload: { name: "Named Later" }
          })
          expect(named.name).toBe("Named Later")

          for (const { email, password, version } of imported) {
            expectProblem(yield* request("POST", "/auth/login", { body: { email, password: "not it at all" } }), 401)
            const auth = yield* login(email, password)
            expect(auth.user).toMatchObject({ email, name: `Imported ${version}`, role: "user" })
            const [stored] = yield* directDatabase(
              (sql) => sql<{ passwordHash: string }>`select password_hash from users where email = ${email}`
            )
            expect(stored!.passwordHash).toMatch(/^\$argon2id\$/)
            expect((yield* login(email, password)).user.id).toBe(auth.user.id)
            expectProblem(yield* request("POST", "/auth/login", { body: { email, password: "not it at all" } }), 401)
          }
        }),
      { timeout: 60_000 }
    )

    it.effect("never sent a password hash, a stack trace or SQL in any response", () =>
      Effect.sync(() => expectNothingLeaked(responseBodies))
    )
  })

  it.scopedLive(
    "the first admin takes over an account someone registered with ADMIN_EMAIL before start-up",
    () =>
      Effect.gen(function* () {
        const backendSettings = yield* backend.settings
        const dataDir = tempDir("takeover")
        const squatter = yield* Effect.scoped(
          Effect.gen(function* () {
            const server = yield* startServer({ ...backendSettings, dataDir })
            const account = yield* register({ email: ADMIN.email, password: "the squatter's password" }).pipe(
              Effect.provideService(TestServer, server)
            )
            expect(account.auth.user.role).toBe("user")
            return account
          })
        )
        const server = yield* startServer({
          ...backendSettings,
          dataDir,
          admin: Option.some({ email: ADMIN.email, password: Redacted.make(ADMIN.password) })
        })
        yield* Effect.gen(function* () {
          expect(yield* profileStatus(squatter.auth.accessToken)).toBe(401)
          expect(yield* refreshStatus(squatter.auth.refreshToken)).toBe(401)
          expectProblem(
            yield* request("POST", "/auth/login", {
              body: { email: ADMIN.email, password: "the squatter's password" }
            }),
            401
          )
          const admin = yield* loginAdmin
          expect(admin.user).toMatchObject({ id: squatter.auth.user.id, email: ADMIN.email, role: "admin" })
        }).pipe(Effect.provideService(TestServer, server))
      }).pipe(Effect.provide(FetchHttpClient.layer)),
    { timeout: 120_000 }
  )
})
