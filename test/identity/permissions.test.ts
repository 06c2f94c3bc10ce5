import { describe, expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { decodeJwt } from "jose"
import type { Role } from "../../src/services/identity/schema.js"
import {
  accountWithRole,
  apiClient,
  backends,
  expectNothingLeaked,
  expectProblem,
  identityServer,
  login,
  loginAdmin,
  PASSWORD,
  profileStatus,
  register,
  request,
  responseBodies
} from "./harness.js"

const roles: ReadonlyArray<Role> = ["guest", "user", "moderator", "admin"]
const mayListUsers: ReadonlyArray<Role> = ["moderator", "admin"]
const mayAdministerUsers: ReadonlyArray<Role> = ["admin"]

/** API.md's permission table, row by row, for each role; the admins other than the first are made by the first. */
describe.each(backends)("Roles on $name", (backend) => {
  layer(identityServer(backend), { timeout: "120 seconds", excludeTestServices: true })((it) => {
    for (const role of roles) {
      it.effect(`${role}: reads and updates own profile, changes own password, manages own sessions`, () =>
        Effect.gen(function* () {
          const account = yield* accountWithRole(role)
          const token = account.auth.accessToken
          const client = yield* apiClient(token)
          const profile = yield* client.users.profile()
          expect(profile).toMatchObject({ id: account.auth.user.id, role })
          expect((yield* client.users.updateProfile({ payload: { name: `A ${role}` } })).name).toBe(`A ${role}`)

          const other = yield* login(account.email, PASSWORD)
          const sessions = yield* client.sessions.list()
          expect(sessions.items).toHaveLength(2)
          const otherSid = decodeJwt(other.accessToken)["sid"] as string
          const revoke = yield* request("DELETE", `/auth/sessions/${otherSid}`, { token })
          expect(revoke.status).toBe(204)
          expect(yield* profileStatus(other.accessToken)).toBe(401)

          const change = yield* request("PUT", "/users/password", {
            token,
            body: { currentPassword: PASSWORD, newPassword: `${role} new password` }
          })
          expect(change.status).toBe(204)
          expect((yield* login(account.email, `${role} new password`)).user.role).toBe(role)
        })
      )

      it.effect(`${role}: deletes own account`, () =>
        Effect.gen(function* () {
          const account = yield* accountWithRole(role)
          const response = yield* request("DELETE", "/users/account", {
            token: account.auth.accessToken,
            body: { password: PASSWORD }
          })
          expect(response.status).toBe(204)
          expect(yield* profileStatus(account.auth.accessToken)).toBe(401)
          expectProblem(
            yield* request("POST", "/auth/login", { body: { email: account.email, password: PASSWORD } }),
            401
          )
        })
      )

      const listing = mayListUsers.includes(role) ? "lists users" : "may not list users (403)"
      it.effect(`${role}: ${listing}`, () =>
        Effect.gen(function* () {
          const account = yield* accountWithRole(role)
          const response = yield* request("GET", "/admin/users?limit=5", { token: account.auth.accessToken })
          if (mayListUsers.includes(role)) {
            expect(response.status).toBe(200)
            expect(response.json).toMatchObject({ items: expect.any(Array) })
            expect((response.json as { items: ReadonlyArray<unknown> }).items.length).toBeGreaterThan(0)
          } else {
            expectProblem(response, 403, "forbidden")
            const filtered = yield* request("GET", "/admin/users?role=admin", { token: account.auth.accessToken })
            expectProblem(filtered, 403, "forbidden")
          }
        })
      )

      const administering = mayAdministerUsers.includes(role)
        ? "changes roles, disables and deletes other users"
        : "may not change roles, disable or delete other users (403)"
      it.effect(`${role}: ${administering}`, () =>
        Effect.gen(function* () {
          const account = yield* accountWithRole(role)
          const token = account.auth.accessToken
          const promoted = yield* register()
          const disabled = yield* register()
          const deleted = yield* register()
          const promote = yield* request("PATCH", `/admin/users/${promoted.auth.user.id}`, {
            token,
            body: { role: "moderator" }
          })
          const disable = yield* request("PATCH", `/admin/users/${disabled.auth.user.id}`, {
            token,
            body: { disabled: true }
          })
          const remove = yield* request("DELETE", `/admin/users/${deleted.auth.user.id}`, { token })
          const missing = yield* request("PATCH", "/admin/users/00000000-0000-4000-8000-000000000000", {
            token,
            body: { role: "admin" }
          })

          if (mayAdministerUsers.includes(role)) {
            expect(promote.status).toBe(200)
            expect(promote.json).toMatchObject({ id: promoted.auth.user.id, role: "moderator" })
            expect(disable.status).toBe(200)
            expect(remove.status).toBe(204)
            expectProblem(missing, 404, "not-found")
            expect((yield* (yield* apiClient(promoted.auth.accessToken)).users.profile()).role).toBe("moderator")
            expect(yield* profileStatus(disabled.auth.accessToken)).toBe(401)
            expect(yield* profileStatus(deleted.auth.accessToken)).toBe(401)
          } else {
            for (const response of [promote, disable, remove, missing]) expectProblem(response, 403, "forbidden")
            expect((yield* (yield* apiClient(promoted.auth.accessToken)).users.profile()).role).toBe("user")
            expect(yield* profileStatus(disabled.auth.accessToken)).toBe(200)
            expect(yield* profileStatus(deleted.auth.accessToken)).toBe(200)
            expect((yield* login(deleted.email, PASSWORD)).user.id).toBe(deleted.auth.user.id)
            // Nor can they raise themselves.
            const self = yield* request("PATCH", `/admin/users/${account.auth.user.id}`, {
              token,
              body: { role: "admin" }
            })
            expectProblem(self, 403, "forbidden")
            expect((yield* (yield* apiClient(token)).users.profile()).role).toBe(role)
          }
        })
      )
    }

    it.effect("a role change applies to the user's live sessions on their next request", () =>
      Effect.gen(function* () {
        const account = yield* register()
        const token = account.auth.accessToken
        expect((yield* request("GET", "/admin/users", { token })).status).toBe(403)
        const admin = yield* apiClient((yield* loginAdmin).accessToken)
        const id = account.auth.user.id
        yield* admin.admin.updateUser({ path: { id }, payload: { role: "moderator" } })
        expect((yield* request("GET", "/admin/users", { token })).status).toBe(200)
        yield* admin.admin.updateUser({ path: { id }, payload: { role: "admin" } })
        const changed = yield* request("PATCH", `/admin/users/${(yield* register()).auth.user.id}`, {
          token,
          body: { role: "guest" }
        })
        expect(changed.status).toBe(200)
        yield* admin.admin.updateUser({ path: { id }, payload: { role: "guest" } })
        expectProblem(yield* request("GET", "/admin/users", { token }), 403)
        expect((yield* (yield* apiClient(token)).users.profile()).role).toBe("guest")
        const refreshed = yield* (yield* apiClient()).auth.refresh({
          payload: { refreshToken: account.auth.refreshToken }
        })
        expect(refreshed.user.role).toBe("guest")
        expect(decodeJwt(refreshed.accessToken)["role"]).toBe("guest")
      })
    )

    it.effect("a new account gets the role user, and no public request can make it an admin", () =>
      Effect.gen(function* () {
        const account = yield* register()
        expect(account.auth.user.role).toBe("user")
        const token = account.auth.accessToken
        expectProblem(yield* request("PUT", "/users/profile", { token, body: { role: "admin" } }), 400)
        expectProblem(
          yield* request("POST", "/auth/register", {
            body: { email: `x${account.email}`, password: PASSWORD, name: "X", role: "admin" }
          }),
          400
        )
        expect((yield* (yield* apiClient(token)).users.profile()).role).toBe("user")
        const login = yield* (yield* apiClient()).auth.login({
          payload: { email: account.email, password: Redacted.make(PASSWORD) }
        })
        expect(login.user.role).toBe("user")
      })
    )

    it.effect("never sent a password hash, a stack trace or SQL in any response", () =>
      Effect.sync(() => expectNothingLeaked(responseBodies))
    )
  })
})
