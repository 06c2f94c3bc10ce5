import { FetchHttpClient, HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { expect } from "@effect/vitest"
import { Effect, Layer, Option, Redacted, type Scope } from "effect"
import { randomInt, randomUUID } from "node:crypto"
import { baseApi } from "../../src/http/api.js"
import { AdminGroup, AuthGroup, SessionsGroup, UsersGroup } from "../../src/http/groups/identity.js"
import type { AppSettings } from "../../src/layers/config.js"
import type { AuthResult, Role } from "../../src/services/identity/schema.js"
import { freshPostgresDatabase } from "../support/postgres.js"
import { raw, type RawResponse, TestServer } from "../support/server.js"
import { serviceUrl } from "../support/services.js"

/** The identity module's contract, as a client outside the server sees it. */
export const IdentityApi = baseApi.add(AuthGroup).add(SessionsGroup).add(UsersGroup).add(AdminGroup)

/** The first admin, given to every suite's server as ADMIN_EMAIL / ADMIN_PASSWORD. */
export const ADMIN = { email: "root@plinth.test", password: "bootstrap-admin-secret" } as const

export const PASSWORD = "correct horse battery staple"

export interface Backend {
  readonly name: string
  /** Whether the suite's database is a PostgreSQL server a test can also connect to. */
  readonly postgres: boolean
  /** The settings that select the backend, acquired for the suite's lifetime. */
  readonly settings: Effect.Effect<Partial<AppSettings>, never, Scope.Scope>
}

const databaseUrl = serviceUrl("TEST_DATABASE_URL")
const redisUrl = serviceUrl("TEST_REDIS_URL")

/** Embedded defaults always; PostgreSQL (a database of the suite's own) and Redis when their URLs are given. */
export const backends: ReadonlyArray<Backend> = [
  { name: "embedded", postgres: false, settings: Effect.succeed({}) },
  ...(databaseUrl === undefined && redisUrl === undefined
    ? []
    : [
        {
          name: [databaseUrl === undefined ? [] : ["postgres"], redisUrl === undefined ? [] : ["redis"]]
            .flat()
            .join("+"),
          postgres: databaseUrl !== undefined,
          settings: Effect.gen(function* () {
            const database = databaseUrl === undefined ? undefined : yield* freshPostgresDatabase(databaseUrl)
            return {
              ...(database === undefined ? {} : { databaseUrl: Option.some(Redacted.make(database)) }),
              ...(redisUrl === undefined ? {} : { redisUrl: Option.some(Redacted.make(redisUrl)) })
            } satisfies Partial<AppSettings>
          })
        }
      ])
]

/** The whole program on `backend`, with the bootstrap admin configured, plus an HttpClient for the test. */
export const identityServer = (backend: Backend, overrides: Partial<AppSettings> = {}) =>
  Layer.unwrapScoped(
    Effect.map(backend.settings, (settings) =>
      TestServer.layer({
        admin: Option.some({ email: ADMIN.email, password: Redacted.make(ADMIN.password) }),
        ...settings,
        ...overrides
      })
    )
  ).pipe(Layer.merge(FetchHttpClient.layer))

/** Every response body any suite of this process received, so a suite can assert what none of them contained. */
export const responseBodies: Array<string> = []

/** What must never reach a client: password hashes, stack traces, SQL or driver errors. */
export const expectNothingLeaked = (bodies: ReadonlyArray<string>) => {
  const leaks = [
    /\$argon2/,
    /\$2[aby]\$\d\d\$/,
    /"password_?hash"\s*:/i,
    /\n\s+at\s/,
    /\bat [^\s]+ \([^)]*:\d+:\d+\)/,
    /\.ts:\d+:\d+/,
    /node_modules|file:\/\//,
    /\bselect\b[\s\S]*\bfrom\b|\binsert into\b|\bdelete from\b|\bupdate \w+ set\b/i,
    /SqlError|syntax error at|violates [a-z ]*constraint|duplicate key|relation "/i
  ]
  for (const body of bodies) {
    for (const leak of leaks) expect(body, `a response body matched ${leak}`).not.toMatch(leak)
  }
}

/** A typed client for the identity API, optionally authenticated, that records every body it receives. */
export const apiClient = (accessToken?: string, headers: Record<string, string> = {}) =>
  Effect.flatMap(TestServer, ({ url }) =>
    HttpApiClient.make(IdentityApi, {
      baseUrl: url,
      transformClient: (client) =>
        client.pipe(
          HttpClient.mapRequest((request) =>
            HttpClientRequest.setHeaders(
              accessToken === undefined ? request : HttpClientRequest.bearerToken(request, accessToken),
              headers
            )
          ),
          HttpClient.tap((response) =>
            // The client decodes from `arrayBuffer`, which is cached: reading `text` would consume the body.
            response.arrayBuffer.pipe(
              Effect.map((bytes) => void responseBodies.push(Buffer.from(bytes).toString("utf8"))),
              Effect.ignore
            )
          )
        )
    })
  )

/** A plain request whose body is recorded too; `body` objects are sent as JSON. */
export const request = (
  method: string,
  path: string,
  options: { readonly body?: unknown; readonly token?: string; readonly headers?: Record<string, string> } = {}
) =>
  Effect.flatMap(TestServer, ({ url }) =>
    raw(`${url}${path}`, {
      method,
      headers: {
        ...(options.body === undefined ? {} : { "content-type": "application/json" }),
        ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
        ...options.headers
      },
      ...(options.body === undefined
        ? {}
        : { body: typeof options.body === "string" ? options.body : JSON.stringify(options.body) })
    }).pipe(Effect.tap((response) => Effect.sync(() => void responseBodies.push(response.text))))
  )

export const uniqueEmail = (label = "user") => `${label}-${randomUUID().slice(0, 12)}@example.com`

/** A random documentation-range address, for suites that trust X-Forwarded-For to keep their counters apart. */
export const uniqueIp = () => `198.51.${randomInt(0, 256)}.${randomInt(1, 255)}`

export interface Account {
  readonly email: string
  readonly password: string
  readonly auth: AuthResult
}

export const register = (
  options: {
    readonly email?: string
    readonly password?: string
    readonly name?: string
    readonly headers?: Record<string, string>
  } = {}
) =>
  Effect.gen(function* () {
    const client = yield* apiClient(undefined, options.headers)
    const email = options.email ?? uniqueEmail()
    const password = options.password ?? PASSWORD
    const auth = yield* client.auth.register({
      payload: { email, password: Redacted.make(password), name: options.name ?? "Test User" }
    })
    return { email, password, auth } satisfies Account
  })

export const login = (email: string, password: string, headers: Record<string, string> = {}) =>
  Effect.flatMap(apiClient(undefined, headers), (client) =>
    client.auth.login({ payload: { email, password: Redacted.make(password) } })
  )

export const loginAdmin = login(ADMIN.email, ADMIN.password)

/** A fresh account with `role`, given by the bootstrap admin the way an operator would. */
export const accountWithRole = (role: Role) =>
  Effect.gen(function* () {
    const account = yield* register({ email: uniqueEmail(role) })
    if (role === "user") return account
    const admin = yield* apiClient((yield* loginAdmin).accessToken)
    const updated = yield* admin.admin.updateUser({ path: { id: account.auth.user.id }, payload: { role } })
    expect(updated.role).toBe(role)
    return account
  })

/** The status of a request that should be refused, with the body it came with. */
export const expectProblem = (response: RawResponse, status: number, slug?: string) => {
  expect(response.status, response.text).toBe(status)
  expect(response.headers.get("content-type")).toBe("application/problem+json")
  expect(response.json).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) })
  if (slug !== undefined) expect(response.json).toMatchObject({ type: `urn:plinth:problem:${slug}` })
  if (status === 401) expect(response.headers.get("www-authenticate")).toMatch(/^Bearer\b/)
  if (status === 429 || status === 503) expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0)
}

/** GET /users/profile with `token`: 200 while the session is live, 401 once it is not. */
export const profileStatus = (token: string) =>
  Effect.map(request("GET", "/users/profile", { token }), (response) => response.status)

export const refreshStatus = (refreshToken: string) =>
  Effect.map(request("POST", "/auth/refresh", { body: { refreshToken } }), (response) => response.status)

export const fieldPaths = (response: RawResponse) =>
  ((response.json as { errors?: ReadonlyArray<{ path: string }> }).errors ?? []).map((error) => error.path).sort()
