import { describe, expect, layer } from "@effect/vitest"
import { Effect, Runtime } from "effect"
import fc from "fast-check"
import type { RawResponse, TestServer } from "../support/server.js"
import {
  backends,
  expectNothingLeaked,
  identityServer,
  PASSWORD,
  register,
  request,
  responseBodies,
  uniqueEmail
} from "./harness.js"

const RUNS = 100

const json = fc.jsonValue({ maxDepth: 3 })

/** Near-misses of a field as well as arbitrary values: strings of every kind, numbers, nulls, nested JSON. */
const field = (...near: ReadonlyArray<fc.Arbitrary<unknown>>) =>
  fc.oneof(...near, fc.string({ maxLength: 300 }), fc.string({ unit: "binary", maxLength: 40 }), json)

const emails = field(
  fc.emailAddress(),
  fc.emailAddress().map((email) => ` ${email.toUpperCase()} `),
  fc.constant(`${"a".repeat(250)}@example.com`)
)
const passwords = field(fc.constant(PASSWORD), fc.string({ minLength: 8, maxLength: 130 }))
const names = field(fc.constant("Ada"), fc.string({ unit: "grapheme", maxLength: 120 }))
const refreshTokens = field(fc.base64String({ minLength: 40, maxLength: 48 }), fc.string({ maxLength: 600 }))

/** Bodies shaped like `shape` (fields missing, extra or wrong), any JSON at all, or text that is not JSON. */
const bodies = (shape: Record<string, fc.Arbitrary<unknown>>) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.record(shape, { requiredKeys: [] }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.record(shape, { requiredKeys: [] }), fc.dictionary(fc.string({ maxLength: 12 }), json))
        .map(([known, extra]) => ({ ...extra, ...known }))
    },
    { weight: 2, arbitrary: json },
    {
      weight: 1,
      arbitrary: fc
        .tuple(json, fc.nat())
        .map(([value, cut]) => {
          const text = JSON.stringify(value)
          return text.slice(0, cut % (text.length + 1))
        })
        .map((text) => ({ text }))
    },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }).map((text) => ({ text })) }
  )

const contentTypes = fc.oneof(
  { weight: 8, arbitrary: fc.constant("application/json") },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "application/json; charset=utf-8",
      "text/plain",
      "application/x-www-form-urlencoded",
      "application/octet-stream",
      "multipart/form-data",
      "application/problem+json",
      "text/html; charset=latin1"
    )
  }
)

/** What any input may get: a 2xx or a 4xx, the latter as an RFC 9457 problem; never a 5xx. */
const expectHandled = (response: RawResponse, sent: unknown) => {
  const context = `${response.status} for ${JSON.stringify(sent)}: ${response.text}`
  expect(response.status, context).toBeGreaterThanOrEqual(200)
  expect(response.status, context).toBeLessThan(500)
  if (response.status >= 400) {
    expect(response.headers.get("content-type"), context).toBe("application/problem+json")
    expect(response.json, context).toMatchObject({ status: response.status, type: expect.any(String) })
  }
}

describe.each(backends)("Arbitrary request bodies on $name", (backend) => {
  layer(identityServer(backend), { timeout: "120 seconds", excludeTestServices: true })((it) => {
    const post = (path: string, sample: unknown, contentType: string, token?: string, method = "POST") =>
      Effect.gen(function* () {
        const body =
          typeof sample === "object" && sample !== null && "text" in sample && Object.keys(sample).length === 1
            ? String((sample as { text: unknown }).text)
            : JSON.stringify(sample)
        const response = yield* request(method, path, {
          body,
          headers: { "content-type": contentType },
          ...(token === undefined ? {} : { token })
        })
        expectHandled(response, sample)
      })

    /** Runs a fast-check property whose examples are requests to this suite's server. */
    const withServer = <A>(arbitrary: fc.Arbitrary<A>, send: (sample: A) => Effect.Effect<void, never, TestServer>) =>
      Effect.flatMap(Effect.runtime<TestServer>(), (runtime) =>
        Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(arbitrary, (sample) => Runtime.runPromise(runtime)(send(sample))),
            { numRuns: RUNS }
          )
        )
      )

    it.effect(
      "POST /auth/register never answers 5xx",
      () =>
        withServer(
          fc.tuple(bodies({ email: emails, password: passwords, name: names }), contentTypes),
          ([body, type]) => post("/auth/register", body, type)
        ),
      { timeout: 90_000 }
    )

    it.effect(
      "POST /auth/login never answers 5xx",
      () =>
        Effect.gen(function* () {
          const account = yield* register()
          yield* withServer(
            fc.tuple(
              bodies({ email: fc.oneof(fc.constant(account.email), emails), password: passwords }),
              contentTypes
            ),
            ([body, type]) => post("/auth/login", body, type)
          )
        }),
      { timeout: 90_000 }
    )

    it.effect(
      "POST /auth/refresh and /auth/logout never answer 5xx",
      () =>
        withServer(fc.tuple(bodies({ refreshToken: refreshTokens }), contentTypes, fc.boolean()), ([body, type, out]) =>
          post(out ? "/auth/logout" : "/auth/refresh", body, type)
        ),
      { timeout: 90_000 }
    )

    it.effect(
      "PUT /users/profile never answers 5xx",
      () =>
        Effect.gen(function* () {
          const account = yield* register()
          const other = yield* register()
          yield* withServer(
            fc.tuple(
              bodies({ name: names, email: fc.oneof(fc.constant(other.email), fc.constant(uniqueEmail()), emails) }),
              contentTypes
            ),
            ([body, type]) => post("/users/profile", body, type, account.auth.accessToken, "PUT")
          )
        }),
      { timeout: 90_000 }
    )

    it.effect(
      "any Authorization header is a 200 or a 401, never a 5xx",
      () =>
        Effect.gen(function* () {
          const account = yield* register()
          const [header, payload] = account.auth.accessToken.split(".") as [string, string]
          const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) })
          yield* withServer(
            fc.oneof(
              printable.map((text) => `Bearer ${text}`),
              printable,
              printable.map((signature) => `Bearer ${header}.${payload}.${signature}`),
              fc.base64String().map((text) => `Bearer ${header}.${text}.`)
            ),
            (authorization) =>
              Effect.gen(function* () {
                const response = yield* request("GET", "/users/profile", {
                  headers: { authorization: authorization.trim() }
                })
                expectHandled(response, authorization)
                expect(response.status).toBe(401)
              })
          )
        }),
      { timeout: 90_000 }
    )

    it.effect("never sent a password hash, a stack trace or SQL in any response", () =>
      Effect.sync(() => expectNothingLeaked(responseBodies))
    )
  })
})
