import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import {
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
  register,
  request,
  responseBodies,
  uniqueEmail,
  uniqueIp
} from "./harness.js"

/** Every body-taking endpoint, with a valid body for a fresh account `email` and what it may not contain. */
const endpoints = (email: string, refreshToken: string, userId: string) =>
  [
    {
      method: "POST",
      path: "/auth/register",
      body: { email: uniqueEmail(), password: PASSWORD, name: "N" },
      smuggled: ["role", "id", "createdAt", "disabled"]
    },
    { method: "POST", path: "/auth/login", body: { email, password: PASSWORD }, smuggled: ["role", "remember"] },
    { method: "POST", path: "/auth/refresh", body: { refreshToken }, smuggled: ["userId"] },
    { method: "POST", path: "/auth/logout", body: { refreshToken }, smuggled: ["all"] },
    {
      method: "PUT",
      path: "/users/profile",
      body: { name: "Renamed" },
      smuggled: ["role", "id", "createdAt", "updatedAt", "password", "passwordHash", "disabled"]
    },
    {
      method: "PUT",
      path: "/users/password",
      body: { currentPassword: PASSWORD, newPassword: PASSWORD },
      smuggled: ["sessions"]
    },
    { method: "DELETE", path: "/users/account", body: { password: PASSWORD }, smuggled: ["id"] },
    {
      method: "PATCH",
      path: `/admin/users/${userId}`,
      body: { role: "guest" },
      smuggled: ["email", "name", "id", "password", "createdAt"]
    }
  ] as const

describe.each(backends)("Request validation on $name", (backend) => {
  layer(identityServer(backend), { timeout: "120 seconds", excludeTestServices: true })((it) => {
    it.effect("rejects unknown fields with a 400 listing each of them, and applies nothing", () =>
      Effect.gen(function* () {
        const account = yield* register({ name: "Unchanged" })
        const token = account.auth.accessToken
        const admin = (yield* loginAdmin).accessToken
        for (const endpoint of endpoints(account.email, account.auth.refreshToken, account.auth.user.id)) {
          const auth = endpoint.path.startsWith("/admin") ? admin : token
          for (const field of endpoint.smuggled) {
            const body = { ...endpoint.body, [field]: field === "role" ? "admin" : "x" }
            const response = yield* request(endpoint.method, endpoint.path, { token: auth, body })
            expectProblem(response, 400, "validation-failed")
            expect(fieldPaths(response), `${field} in ${endpoint.method} ${endpoint.path}`).toEqual([field])
          }
          const several = yield* request(endpoint.method, endpoint.path, {
            token: auth,
            body: { ...endpoint.body, id: "00000000-0000-4000-8000-000000000000", zzz: 1 }
          })
          expectProblem(several, 400)
          expect(fieldPaths(several)).toEqual(["id", "zzz"])
        }
        const profile = yield* (yield* apiClient(token)).users.profile()
        expect(profile).toEqual(account.auth.user)
        expect(yield* profileStatus(token)).toBe(200)
        expect((yield* login(account.email, PASSWORD)).user.role).toBe("user")
      })
    )

    it.effect("answers malformed JSON with a 400 malformed-request problem", () =>
      Effect.gen(function* () {
        const account = yield* register()
        const admin = (yield* loginAdmin).accessToken
        for (const endpoint of endpoints(account.email, account.auth.refreshToken, account.auth.user.id)) {
          const token = endpoint.path.startsWith("/admin") ? admin : account.auth.accessToken
          for (const body of ['{"email": "a@b.co",', "{'single': 'quotes'}", "{", "nul", '{"a":1}}']) {
            const response = yield* request(endpoint.method, endpoint.path, { token, body })
            expectProblem(response, 400, "malformed-request")
            expect(response.json).toMatchObject({ instance: endpoint.path })
          }
          for (const body of ["null", "[]", '"text"', "42", ""]) {
            const response = yield* request(endpoint.method, endpoint.path, {
              token,
              body,
              headers: { "content-type": "application/json" }
            })
            expect(response.status, `${JSON.stringify(body)} to ${endpoint.path}`).toBe(400)
            expectProblem(response, 400)
          }
        }
        expect(yield* profileStatus(account.auth.accessToken)).toBe(200)
      })
    )

    it.effect("refuses form bodies with 415: the API takes JSON, and a form must not log anyone in", () =>
      Effect.gen(function* () {
        const account = yield* register()
        const forms = [
          ["application/x-www-form-urlencoded", new URLSearchParams({ email: account.email, password: PASSWORD })],
          [
            "multipart/form-data; boundary=xyz",
            `--xyz\r\ncontent-disposition: form-data; name="email"\r\n\r\n${account.email}\r\n--xyz--\r\n`
          ],
          ["multipart/form-data", "{}"]
        ] as const
        for (const [contentType, body] of forms) {
          for (const path of ["/auth/login", "/auth/register"]) {
            const response = yield* request("POST", path, {
              body: body.toString(),
              headers: { "content-type": contentType }
            })
            expectProblem(response, 415, "unsupported-media-type")
          }
        }
      })
    )

    it.effect("answers failed validation with a 400 whose errors name each failing field", () =>
      Effect.gen(function* () {
        const cases: ReadonlyArray<readonly [Record<string, unknown>, ReadonlyArray<string>]> = [
          [{}, ["email", "name", "password"]],
          [{ email: "no-at-sign", password: PASSWORD, name: "N" }, ["email"]],
          [{ email: "a@b", password: PASSWORD, name: "N" }, ["email"]],
          [{ email: "a b@c.de", password: PASSWORD, name: "N" }, ["email"]],
          [{ email: "", password: PASSWORD, name: "N" }, ["email"]],
          [{ email: `${"a".repeat(250)}@x.com`, password: PASSWORD, name: "N" }, ["email"]],
          [{ email: uniqueEmail(), password: "7chars!", name: "N" }, ["password"]],
          [{ email: uniqueEmail(), password: "p".repeat(129), name: "N" }, ["password"]],
          [{ email: uniqueEmail(), password: PASSWORD, name: "" }, ["name"]],
          [{ email: uniqueEmail(), password: PASSWORD, name: "   " }, ["name"]],
          [{ email: uniqueEmail(), password: PASSWORD, name: "n".repeat(101) }, ["name"]],
          [{ email: 42, password: null, name: ["x"] }, ["email", "name", "password"]],
          [{ email: "bad", password: "short", name: "" }, ["email", "name", "password"]]
        ]
        for (const [body, paths] of cases) {
          const response = yield* request("POST", "/auth/register", { body })
          expectProblem(response, 400, "validation-failed")
          expect(fieldPaths(response), JSON.stringify(body)).toEqual(paths)
          for (const error of (response.json as { errors: ReadonlyArray<{ message: unknown }> }).errors) {
            expect(error.message).toEqual(expect.any(String))
          }
        }

        // The limits themselves are accepted.
        const local = "e".repeat(255 - "@example.com".length)
        const edge = yield* request("POST", "/auth/register", {
          body: { email: `${local}@example.com`, password: "p".repeat(128), name: ` ${"n".repeat(100)} ` }
        })
        expect(edge.status).toBe(201)
        const short = yield* request("POST", "/auth/register", {
          body: { email: uniqueEmail(), password: "8 chars!", name: "N" }
        })
        expect(short.status).toBe(201)

        const account = yield* register()
        const token = account.auth.accessToken
        const profileCases: ReadonlyArray<readonly [Record<string, unknown>, ReadonlyArray<string>]> = [
          [{ name: "" }, ["name"]],
          [{ name: null }, ["name"]],
          [{ email: "nope" }, ["email"]],
          [{ email: "nope", name: "  " }, ["email", "name"]]
        ]
        for (const [body, paths] of profileCases) {
          const response = yield* request("PUT", "/users/profile", { token, body })
          expectProblem(response, 400, "validation-failed")
          expect(fieldPaths(response), JSON.stringify(body)).toEqual(paths)
        }
        const patch = yield* request("PATCH", `/admin/users/${account.auth.user.id}`, {
          token: (yield* loginAdmin).accessToken,
          body: { role: "superuser", disabled: "yes" }
        })
        expectProblem(patch, 400, "validation-failed")
        expect(fieldPaths(patch)).toEqual(["disabled", "role"])
        expect((yield* (yield* apiClient(token)).users.profile()).role).toBe("user")
      })
    )

    it.effect(
      "answers a failed login the same way whether the email is unknown, the password wrong or the user disabled",
      () =>
        Effect.gen(function* () {
          const account = yield* register()
          const disabled = yield* register()
          yield* (yield* apiClient((yield* loginAdmin).accessToken)).admin.updateUser({
            path: { id: disabled.auth.user.id },
            payload: { disabled: true }
          })
          const attempts = [
            { email: uniqueEmail("nobody"), password: PASSWORD },
            { email: account.email, password: "wrong password" },
            { email: account.email, password: "" },
            { email: disabled.email, password: PASSWORD }
          ]
          const responses = yield* Effect.forEach(attempts, (body) => request("POST", "/auth/login", { body }))
          for (const response of responses) expectProblem(response, 401, "unauthorized")
          const [first, ...rest] = responses
          for (const response of rest) {
            expect(response.text).toBe(first!.text)
            expect(response.headers.get("www-authenticate")).toBe(first!.headers.get("www-authenticate"))
            expect(response.headers.get("content-type")).toBe(first!.headers.get("content-type"))
          }
          expect(first!.text).not.toContain(account.email)
        })
    )

    it.effect("never sent a password hash, a stack trace or SQL in any response", () =>
      Effect.sync(() => expectNothingLeaked(responseBodies))
    )
  })

  layer(
    identityServer(backend, {
      authRateLimitPerIp: 5,
      authRateLimitPerAccount: 8,
      loginFailureLimit: 3,
      trustProxy: true
    }),
    {
      timeout: "120 seconds",
      excludeTestServices: true
    }
  )((it) => {
    // Each client address is a fresh X-Forwarded-For, so the counters of one test never reach another's.
    const from = (ip: string) => ({ "x-forwarded-for": ip })
    const registerFromAnywhere = Effect.suspend(() => register({ headers: from(uniqueIp()) }))

    it.effect(
      "AUTH_RATE_LIMIT_PER_IP: the sixth /auth request a minute from one address gets a 429 with Retry-After",
      () =>
        Effect.gen(function* () {
          const ip = uniqueIp()
          const account = yield* registerFromAnywhere
          const tries = [
            request("POST", "/auth/login", { body: { email: account.email, password: PASSWORD }, headers: from(ip) }),
            request("POST", "/auth/refresh", { body: { refreshToken: "nope" }, headers: from(ip) }),
            request("POST", "/auth/register", {
              body: { email: uniqueEmail(), password: PASSWORD, name: "N" },
              headers: from(ip)
            }),
            request("POST", "/auth/logout", { body: { refreshToken: "nope" }, headers: from(ip) }),
            request("POST", "/auth/login", { body: { email: account.email, password: "wrong!" }, headers: from(ip) })
          ]
          const statuses = yield* Effect.forEach(tries, (attempt) => Effect.map(attempt, (r) => r.status))
          expect(statuses).toEqual([200, 401, 201, 204, 401])

          const limited = yield* request("POST", "/auth/login", {
            body: { email: account.email, password: PASSWORD },
            headers: from(ip)
          })
          expectProblem(limited, 429, "too-many-requests")
          const retryAfter = Number(limited.headers.get("retry-after"))
          expect(retryAfter).toBeGreaterThanOrEqual(1)
          expect(retryAfter).toBeLessThanOrEqual(60)
          expect(limited.json).toMatchObject({ retryAfter })
          const typed = yield* (yield* apiClient(undefined, from(ip))).auth
            .refresh({ payload: { refreshToken: account.auth.refreshToken } })
            .pipe(Effect.flip)
          expect(typed).toMatchObject({ _tag: "TooManyRequests", status: 429 })
          const registration = { email: uniqueEmail(), password: PASSWORD, name: "N" }
          expectProblem(yield* request("POST", "/auth/register", { body: registration, headers: from(ip) }), 429)
          expectProblem(
            yield* request("POST", "/auth/login", {
              body: { email: registration.email, password: PASSWORD },
              headers: from(uniqueIp())
            }),
            401
          )

          const elsewhere = yield* request("POST", "/auth/login", {
            body: { email: account.email, password: PASSWORD },
            headers: from(uniqueIp())
          })
          expect(elsewhere.status).toBe(200)
        })
    )

    it.effect("AUTH_RATE_LIMIT_PER_IP counts requests refused while their body or token is decoded", () =>
      Effect.gen(function* () {
        const ip = uniqueIp()
        const account = yield* registerFromAnywhere
        const refused = [
          request("POST", "/auth/login", { body: "{not json", headers: from(ip) }),
          request("POST", "/auth/register", { body: { email: "not an email" }, headers: from(ip) }),
          request("POST", "/auth/refresh", { body: { refreshToken: 42 }, headers: from(ip) }),
          request("GET", "/auth/sessions", { token: "forged", headers: from(ip) })
        ]
        const statuses = yield* Effect.forEach(refused, (attempt) => Effect.map(attempt, (r) => r.status))
        expect(statuses).toEqual([400, 400, 400, 401])
        const fifth = yield* request("POST", "/auth/login", {
          body: { email: account.email, password: PASSWORD },
          headers: from(ip)
        })
        expect(fifth.status).toBe(200)
        expectProblem(yield* request("POST", "/auth/login", { body: "{not json", headers: from(ip) }), 429)
        expectProblem(yield* request("GET", "/auth/sessions", { token: "forged", headers: from(ip) }), 429)
      })
    )

    it.effect(
      "AUTH_RATE_LIMIT_PER_ACCOUNT: one account's logins, registrations and refreshes from many addresses",
      () =>
        Effect.gen(function* () {
          // The registration is the email's first attempt of the minute; seven logins use up the rest.
          const account = yield* registerFromAnywhere
          const loginStatus = Effect.suspend(() =>
            Effect.map(
              request("POST", "/auth/login", {
                body: { email: account.email, password: PASSWORD },
                headers: from(uniqueIp())
              }),
              (response) => response.status
            )
          )
          const statuses = yield* Effect.replicateEffect(loginStatus, 8)
          expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 429])
          // Registering the same email again is an attempt on that account too.
          expectProblem(
            yield* request("POST", "/auth/register", {
              body: { email: account.email, password: PASSWORD, name: "Again" },
              headers: from(uniqueIp())
            }),
            429
          )

          // Refreshes count per account: eight rotations, then a 429 that leaves the presented token unused.
          let refreshToken = account.auth.refreshToken
          for (let i = 0; i < 8; i++) {
            const rotated = yield* request("POST", "/auth/refresh", {
              body: { refreshToken },
              headers: from(uniqueIp())
            })
            expect(rotated.status, rotated.text).toBe(200)
            refreshToken = (rotated.json as { refreshToken: string }).refreshToken
          }
          const limited = yield* request("POST", "/auth/refresh", { body: { refreshToken }, headers: from(uniqueIp()) })
          expectProblem(limited, 429, "too-many-requests")
          // Not treated as reuse: the session lives on.
          expect(yield* profileStatus(account.auth.accessToken)).toBe(200)
        })
    )

    it.effect("LOGIN_FAILURE_LIMIT: after three failed logins the account answers 429, from any address", () =>
      Effect.gen(function* () {
        const account = yield* registerFromAnywhere
        const bystander = yield* registerFromAnywhere
        for (let i = 0; i < 3; i++) {
          const failed = yield* request("POST", "/auth/login", {
            body: { email: account.email, password: `wrong ${i}` },
            headers: from(uniqueIp())
          })
          expectProblem(failed, 401)
        }
        for (const password of ["wrong again", PASSWORD]) {
          const limited = yield* request("POST", "/auth/login", {
            body: { email: account.email, password },
            headers: from(uniqueIp())
          })
          expectProblem(limited, 429, "too-many-requests")
          const retryAfter = Number(limited.headers.get("retry-after"))
          expect(retryAfter).toBeGreaterThan(60)
          expect(retryAfter).toBeLessThanOrEqual(15 * 60)
        }
        // Only that account: another one logs in from the same kind of fresh address.
        const other = yield* request("POST", "/auth/login", {
          body: { email: bystander.email, password: PASSWORD },
          headers: from(uniqueIp())
        })
        expect(other.status).toBe(200)
        // The tokens issued before keep working: the limit is on logging in.
        expect(yield* profileStatus(account.auth.accessToken)).toBe(200)

        // An unknown email is limited in the same way, so the 429 tells nothing about whether it exists.
        const nobody = uniqueEmail("nobody")
        const statuses: Array<number> = []
        for (let i = 0; i < 4; i++) {
          const response = yield* request("POST", "/auth/login", {
            body: { email: nobody, password: `wrong ${i}` },
            headers: from(uniqueIp())
          })
          statuses.push(response.status)
        }
        expect(statuses).toEqual([401, 401, 401, 429])
      })
    )

    it.effect("a successful login clears the account's failed attempts", () =>
      Effect.gen(function* () {
        const account = yield* registerFromAnywhere
        const attempt = (password: string) =>
          Effect.map(
            request("POST", "/auth/login", { body: { email: account.email, password }, headers: from(uniqueIp()) }),
            (response) => response.status
          )
        expect([yield* attempt("wrong 1"), yield* attempt("wrong 2"), yield* attempt(PASSWORD)]).toEqual([
          401, 401, 200
        ])
        expect([yield* attempt("wrong 3"), yield* attempt("wrong 4"), yield* attempt(PASSWORD)]).toEqual([
          401, 401, 200
        ])
      })
    )

    it.effect("never sent a password hash, a stack trace or SQL in any response", () =>
      Effect.sync(() => expectNothingLeaked(responseBodies))
    )
  })
})
