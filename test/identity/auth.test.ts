import { describe, expect, layer } from "@effect/vitest"
import { Effect, Redacted, Schema } from "effect"
import { decodeJwt, decodeProtectedHeader } from "jose"
import { AuthResult, User } from "../../src/services/identity/schema.js"
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
  responseBodies,
  uniqueEmail
} from "./harness.js"

describe.each(backends)("Accounts and sessions on $name", (backend) => {
  layer(identityServer(backend), { timeout: "120 seconds", excludeTestServices: true })((it) => {
    it.effect("registers with a trimmed, lower-cased email and a trimmed name, answering 201 with tokens", () =>
      Effect.gen(function* () {
        // The typed client only sends what the schema already normalised, so the untidy input goes raw.
        const local = `Mixed.Case-${Date.now()}`
        const response = yield* request("POST", "/auth/register", {
          body: { email: `  ${local}@Example.COM `, password: PASSWORD, name: "  Ada Lovelace  " }
        })
        expect(response.status).toBe(201)
        expect(response.headers.get("content-type")).toContain("application/json")
        const auth = Schema.decodeUnknownSync(AuthResult)(response.json)
        expect(auth.user).toMatchObject({
          email: `${local.toLowerCase()}@example.com`,
          name: "Ada Lovelace",
          role: "user"
        })
        expect(auth.user.id).toMatch(/^[0-9a-f-]{36}$/)
        expect(auth).toMatchObject({ tokenType: "Bearer", expiresIn: 900 })
        expect(auth.refreshToken.length).toBeGreaterThanOrEqual(43)
        expect(auth.refreshToken).not.toContain(".")

        const header = decodeProtectedHeader(auth.accessToken)
        expect(header).toMatchObject({ alg: "EdDSA", kid: expect.any(String) })
        const claims = decodeJwt(auth.accessToken)
        expect(claims).toMatchObject({ sub: auth.user.id, role: "user", sid: expect.any(String) })
        expect(claims.exp! - claims.iat!).toBe(900)
        for (const claim of ["jti", "iss", "aud"] as const) expect(claims[claim]).toBeDefined()

        const client = yield* apiClient()
        const jwks = yield* client.auth.jwks()
        expect(jwks.keys.map((key) => key.kid)).toContain(header.kid)
        expect(jwks.keys.every((key) => !("d" in key))).toBe(true)
        const publicKeys = yield* request("GET", "/.well-known/jwks.json")
        expect(publicKeys.text).not.toMatch(/"d"\s*:/)

        const me = yield* (yield* apiClient(auth.accessToken)).users.profile()
        expect(me).toEqual(auth.user)
        const again = yield* request("POST", "/auth/login", {
          body: { email: ` ${local.toUpperCase()}@EXAMPLE.com`, password: PASSWORD }
        })
        expect(again.status).toBe(200)
        expect(again.json).toMatchObject({ user: { id: auth.user.id } })
      })
    )

    it.effect("logs in with a new session each time and answers 200 with the user and tokens", () =>
      Effect.gen(function* () {
        const account = yield* register()
        const client = yield* apiClient()
        const [auth, response] = yield* client.auth.login({
          payload: { email: account.email, password: Redacted.make(PASSWORD) },
          withResponse: true
        })
        expect(response.status).toBe(200)
        expect(auth.user).toEqual(account.auth.user)
        expect(auth).toMatchObject({ tokenType: "Bearer", expiresIn: 900 })
        expect(decodeJwt(auth.accessToken)["sid"]).not.toBe(decodeJwt(account.auth.accessToken)["sid"])
        expect(auth.refreshToken).not.toBe(account.auth.refreshToken)
        expect(yield* profileStatus(auth.accessToken)).toBe(200)
        expect(yield* profileStatus(account.auth.accessToken)).toBe(200)
      })
    )

    it.effect("refreshes into a new refresh token each time, and a used one no longer works", () =>
      Effect.gen(function* () {
        const account = yield* register()
        const client = yield* apiClient()
        const first = yield* client.auth.refresh({ payload: { refreshToken: account.auth.refreshToken } })
        expect(first.user).toEqual(account.auth.user)
        expect(first.refreshToken).not.toBe(account.auth.refreshToken)
        expect(decodeJwt(first.accessToken)["sid"]).toBe(decodeJwt(account.auth.accessToken)["sid"])
        const second = yield* client.auth.refresh({ payload: { refreshToken: first.refreshToken } })
        expect(new Set([account.auth.refreshToken, first.refreshToken, second.refreshToken]).size).toBe(3)
        expect(yield* profileStatus(second.accessToken)).toBe(200)

        const reused = yield* request("POST", "/auth/refresh", { body: { refreshToken: first.refreshToken } })
        expectProblem(reused, 401, "unauthorized")
        expectProblem(yield* request("POST", "/auth/refresh", { body: { refreshToken: "not-a-token" } }), 401)
      })
    )

    it.effect("logs out with 204, after which that session's refresh and access tokens fail", () =>
      Effect.gen(function* () {
        const account = yield* register()
        const other = yield* login(account.email, PASSWORD)
        expect(yield* profileStatus(account.auth.accessToken)).toBe(200)
        const [, response] = yield* (yield* apiClient()).auth.logout({
          payload: { refreshToken: account.auth.refreshToken },
          withResponse: true
        })
        expect(response.status).toBe(204)
        expect(yield* refreshStatus(account.auth.refreshToken)).toBe(401)
        expectProblem(yield* request("GET", "/users/profile", { token: account.auth.accessToken }), 401)
        expect(yield* profileStatus(other.accessToken)).toBe(200)
        expect(yield* refreshStatus(other.refreshToken)).toBe(200)
      })
    )

    it.effect("lists the caller's sessions with the current one flagged, and revokes one with 204", () =>
      Effect.gen(function* () {
        const account = yield* register()
        const laptop = yield* login(account.email, PASSWORD, { "user-agent": "plinth-test laptop" })
        const phone = yield* login(account.email, PASSWORD, { "user-agent": "plinth-test phone" })
        const stranger = yield* register()

        const list = yield* (yield* apiClient(laptop.accessToken)).sessions.list()
        expect(list.items).toHaveLength(3)
        const laptopSid = decodeJwt(laptop.accessToken)["sid"]
        const phoneSid = decodeJwt(phone.accessToken)["sid"] as string
        expect(list.items.filter((session) => session.current).map((session) => session.id)).toEqual([laptopSid])
        const phoneSession = list.items.find((session) => session.id === phoneSid)
        expect(phoneSession).toMatchObject({ userAgent: "plinth-test phone", current: false })
        expect(phoneSession?.ip).toContain("127.0.0.1")
        const listed = yield* request("GET", "/auth/sessions", { token: laptop.accessToken })
        expect(listed.json).toMatchObject({
          items: expect.arrayContaining([
            {
              id: phoneSid,
              createdAt: expect.stringMatching(/Z$/),
              lastUsedAt: expect.stringMatching(/Z$/),
              userAgent: "plinth-test phone",
              ip: expect.any(String),
              current: false
            }
          ])
        })

        // The phone's session state is cached by this request; revoking must still reach its next one.
        expect(yield* profileStatus(phone.accessToken)).toBe(200)
        const revoke = yield* request("DELETE", `/auth/sessions/${phoneSid}`, { token: laptop.accessToken })
        expect(revoke.status).toBe(204)
        expect(revoke.text).toBe("")
        expectProblem(yield* request("GET", "/users/profile", { token: phone.accessToken }), 401)
        expect(yield* refreshStatus(phone.refreshToken)).toBe(401)
        expect(yield* profileStatus(laptop.accessToken)).toBe(200)
        const after = yield* (yield* apiClient(laptop.accessToken)).sessions.list()
        expect(after.items.map((session) => session.id)).not.toContain(phoneSid)
        expect(after.items).toHaveLength(2)

        const strangerSid = decodeJwt(stranger.auth.accessToken)["sid"] as string
        expectProblem(
          yield* request("DELETE", `/auth/sessions/${strangerSid}`, { token: laptop.accessToken }),
          404,
          "not-found"
        )
        expect(yield* profileStatus(stranger.auth.accessToken)).toBe(200)
        expectProblem(yield* request("DELETE", `/auth/sessions/${phoneSid}`, { token: laptop.accessToken }), 404)
        expectProblem(yield* request("DELETE", `/auth/sessions/not-a-uuid`, { token: laptop.accessToken }), 400)
      })
    )

    it.effect("serves the profile with an ETag and answers a matching If-None-Match with 304", () =>
      Effect.gen(function* () {
        const account = yield* register({ name: "Grace Hopper" })
        const token = account.auth.accessToken
        const first = yield* request("GET", "/users/profile", { token })
        expect(first.status).toBe(200)
        expect(first.headers.get("content-type")).toContain("application/json")
        expect(first.json).toEqual({
          id: account.auth.user.id,
          email: account.email,
          name: "Grace Hopper",
          role: "user",
          createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
          updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/)
        })
        const etag = first.headers.get("etag")
        expect(etag).toMatch(/^"[^"]+"$/)

        const cached = yield* request("GET", "/users/profile", { token, headers: { "if-none-match": etag! } })
        expect(cached.status).toBe(304)
        expect(cached.text).toBe("")
        expect(cached.headers.get("etag")).toBe(etag)
        const listed = yield* request("GET", "/users/profile", {
          token,
          headers: { "if-none-match": `"nope", ${etag!}` }
        })
        expect(listed.status).toBe(304)
        const stale = yield* request("GET", "/users/profile", { token, headers: { "if-none-match": '"nope"' } })
        expect(stale.status).toBe(200)

        yield* (yield* apiClient(token)).users.updateProfile({ payload: { name: "Rear Admiral Hopper" } })
        const changed = yield* request("GET", "/users/profile", { token, headers: { "if-none-match": etag! } })
        expect(changed.status).toBe(200)
        expect(changed.json).toMatchObject({ name: "Rear Admiral Hopper" })
        expect(changed.headers.get("etag")).not.toBe(etag)
      })
    )

    it.effect("serves each request the profile as it is when that request arrives, with others in flight", () =>
      Effect.gen(function* () {
        const account = yield* register({ name: "Round 0" })
        const token = account.auth.accessToken
        const client = yield* apiClient(token)
        const readProfile = Effect.map(request("GET", "/users/profile", { token }), (response) => response.json)
        for (let round = 1; round <= 4; round++) {
          // Other authenticated requests of the same user read the profile along with their session check too.
          yield* Effect.all([client.sessions.list(), readProfile, client.sessions.list()], { concurrency: "unbounded" })
          yield* client.users.updateProfile({ payload: { name: `Round ${round}` } })
          const reads = yield* Effect.all(
            Array.from({ length: 8 }, () => readProfile),
            { concurrency: "unbounded" }
          )
          expect(reads).toEqual(reads.map(() => expect.objectContaining({ name: `Round ${round}` })))
        }
      })
    )

    it.effect("updates name and email, normalised, and answers 409 EmailTaken for an email in use", () =>
      Effect.gen(function* () {
        const account = yield* register({ name: "Before" })
        const taken = yield* register()
        const client = yield* apiClient(account.auth.accessToken)
        const newEmail = uniqueEmail("moved")
        const response = yield* request("PUT", "/users/profile", {
          token: account.auth.accessToken,
          body: { name: "  After  ", email: `  ${newEmail.toUpperCase()}  ` }
        })
        expect(response.status).toBe(200)
        const updated = Schema.decodeUnknownSync(User)(response.json)
        expect(updated).toMatchObject({ id: account.auth.user.id, name: "After", email: newEmail, role: "user" })
        expect(yield* client.users.profile()).toEqual(updated)
        expect((yield* login(newEmail, PASSWORD)).user.id).toBe(account.auth.user.id)
        expectProblem(
          yield* request("POST", "/auth/login", { body: { email: account.email, password: PASSWORD } }),
          401
        )

        const conflict = yield* client.users.updateProfile({ payload: { email: taken.email } }).pipe(Effect.flip)
        expect(conflict).toMatchObject({ _tag: "EmailTaken", status: 409 })
        const conflictRaw = yield* request("PUT", "/users/profile", {
          token: account.auth.accessToken,
          body: { email: ` ${taken.email.toUpperCase()}` }
        })
        expectProblem(conflictRaw, 409, "email-taken")
        expect(yield* client.users.profile()).toEqual(updated)

        const unchanged = yield* client.users.updateProfile({ payload: {} })
        expect(unchanged).toEqual(updated)
      })
    )

    it.effect("changes the password with 204, revoking every other session but the current one", () =>
      Effect.gen(function* () {
        const account = yield* register()
        const current = yield* login(account.email, PASSWORD)
        const other = yield* login(account.email, PASSWORD)
        expect(yield* profileStatus(other.accessToken)).toBe(200)

        const wrong = yield* request("PUT", "/users/password", {
          token: current.accessToken,
          body: { currentPassword: "not the password", newPassword: "a brand new password" }
        })
        expectProblem(wrong, 400)
        expect(fieldPaths(wrong)).toEqual(["currentPassword"])
        expect(yield* profileStatus(other.accessToken)).toBe(200)

        const short = yield* request("PUT", "/users/password", {
          token: current.accessToken,
          body: { currentPassword: PASSWORD, newPassword: "short" }
        })
        expectProblem(short, 400, "validation-failed")
        expect(fieldPaths(short)).toEqual(["newPassword"])

        const [, response] = yield* (yield* apiClient(current.accessToken)).users.changePassword({
          payload: { currentPassword: Redacted.make(PASSWORD), newPassword: Redacted.make("a brand new password") },
          withResponse: true
        })
        expect(response.status).toBe(204)
        expect(yield* profileStatus(other.accessToken)).toBe(401)
        expect(yield* profileStatus(account.auth.accessToken)).toBe(401)
        expect(yield* refreshStatus(other.refreshToken)).toBe(401)
        expect(yield* profileStatus(current.accessToken)).toBe(200)
        expect(yield* refreshStatus(current.refreshToken)).toBe(200)

        expectProblem(
          yield* request("POST", "/auth/login", { body: { email: account.email, password: PASSWORD } }),
          401
        )
        expect((yield* login(account.email, "a brand new password")).user.id).toBe(account.auth.user.id)
      })
    )

    it.effect("deletes the account with 204, after which nothing of the user can be used or read", () =>
      Effect.gen(function* () {
        const account = yield* register({ name: "Soon Gone" })
        const other = yield* login(account.email, PASSWORD)
        const id = account.auth.user.id

        const wrong = yield* request("DELETE", "/users/account", {
          token: account.auth.accessToken,
          body: { password: "not the password" }
        })
        expectProblem(wrong, 400)
        expect(fieldPaths(wrong)).toEqual(["password"])
        expect(yield* profileStatus(account.auth.accessToken)).toBe(200)

        const [, response] = yield* (yield* apiClient(account.auth.accessToken)).users.deleteAccount({
          payload: { password: Redacted.make(PASSWORD) },
          withResponse: true
        })
        expect(response.status).toBe(204)

        expectProblem(
          yield* request("POST", "/auth/login", { body: { email: account.email, password: PASSWORD } }),
          401
        )
        for (const token of [account.auth.accessToken, other.accessToken]) {
          expectProblem(yield* request("GET", "/users/profile", { token }), 401)
          expect((yield* request("GET", "/auth/sessions", { token })).status).toBe(401)
        }
        for (const token of [account.auth.refreshToken, other.refreshToken]) {
          expect(yield* refreshStatus(token)).toBe(401)
        }

        const admin = yield* apiClient((yield* loginAdmin).accessToken)
        const found = yield* admin.admin.listUsers({ urlParams: { limit: 20, q: account.email } })
        expect(found.items).toEqual([])
        const everyone = yield* admin.admin.listUsers({ urlParams: { limit: 100 } })
        expect(everyone.items.map((user) => user.id)).not.toContain(id)
        expect(
          yield* admin.admin.updateUser({ path: { id }, payload: { role: "guest" } }).pipe(Effect.flip)
        ).toMatchObject({ _tag: "NotFound", status: 404 })
        expectProblem(yield* request("DELETE", `/admin/users/${id}`, { token: (yield* loginAdmin).accessToken }), 404)

        const reborn = yield* register({ email: account.email })
        expect(reborn.auth.user.id).not.toBe(id)
        expect(reborn.auth.user.name).toBe("Test User")
      })
    )

    it.effect("creates the first admin from ADMIN_EMAIL and ADMIN_PASSWORD", () =>
      Effect.gen(function* () {
        const admin = yield* loginAdmin
        expect(admin.user).toMatchObject({ email: ADMIN.email, role: "admin" })
        expect(decodeJwt(admin.accessToken)["role"]).toBe("admin")
        const admins = yield* (yield* apiClient(admin.accessToken)).admin.listUsers({
          urlParams: { limit: 20, role: "admin" }
        })
        expect(admins.items.map((user) => user.email)).toEqual([ADMIN.email])
        const claim = yield* request("POST", "/auth/register", {
          body: { email: ADMIN.email, password: "someone else's", name: "Impostor" }
        })
        expectProblem(claim, 409, "email-taken")
      })
    )

    it.effect("lets exactly one of ten concurrent registrations of one email succeed; the rest get 409", () =>
      Effect.gen(function* () {
        const email = uniqueEmail("race")
        const responses = yield* Effect.all(
          Array.from({ length: 10 }, (_, i) =>
            request("POST", "/auth/register", { body: { email, password: PASSWORD, name: `Racer ${i}` } })
          ),
          { concurrency: "unbounded" }
        )
        const statuses = responses.map((response) => response.status).sort()
        expect(statuses).toEqual([201, ...Array<number>(9).fill(409)])
        for (const response of responses.filter((r) => r.status === 409)) expectProblem(response, 409, "email-taken")
        const winner = responses.find((response) => response.status === 201)!.json as { user: { name: string } }
        expect((yield* login(email, PASSWORD)).user.name).toBe(winner.user.name)
      })
    )

    it.effect("never sent a password hash, a stack trace or SQL in any response", () =>
      Effect.sync(() => {
        expect(responseBodies.length).toBeGreaterThan(50)
        expectNothingLeaked(responseBodies)
      })
    )
  })
})
