import { describe, expect, it, vi } from "@effect/vitest"
import { Effect, LogLevel } from "effect"
import { LoggerLive } from "../../src/layers/logger.js"
import { exitOf, spawnServer, waitUntilReady } from "../support/process.js"
import { freePort, raw } from "../support/server.js"
import { tempDir, testConfig } from "../support/settings.js"

const post = (url: string, body: unknown, token?: string) =>
  raw(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` })
    },
    body: JSON.stringify(body)
  })

interface LogLine {
  readonly message: unknown
  readonly annotations: Readonly<Record<string, unknown>>
}

interface Tokens {
  readonly accessToken: string
  readonly refreshToken: string
}

describe("logs", () => {
  it.live(
    "are JSON lines naming the trace and span, and never show a password or a token",
    () =>
      Effect.gen(function* () {
        const port = yield* freePort()
        const url = `http://127.0.0.1:${port}`
        const server = yield* Effect.acquireRelease(
          spawnServer({ PORT: String(port), HOST: "127.0.0.1", DATA_DIR: tempDir("logs"), LOG_LEVEL: "all" }),
          (server) =>
            Effect.zipRight(
              Effect.sync(() => server.child.kill("SIGTERM")),
              exitOf(server)
            )
        )
        expect(yield* waitUntilReady(url)).toBe(true)

        const email = `logs-${Date.now()}@example.com`
        const password = "a password nobody may read"
        const registered = yield* post(`${url}/auth/register`, { email, password, name: "Logged" })
        expect(registered.status).toBe(201)
        const wrong = yield* post(`${url}/auth/login`, { email, password: "not the password at all" })
        expect(wrong.status).toBe(401)
        const loggedIn = yield* post(`${url}/auth/login`, { email, password })
        expect(loggedIn.status).toBe(200)
        const login = loggedIn.json as Tokens
        const refreshed = yield* post(`${url}/auth/refresh`, { refreshToken: login.refreshToken })
        expect(refreshed.status).toBe(200)
        const refresh = refreshed.json as Tokens
        // Presenting a retired refresh token revokes that login: the path that logs a warning.
        const reused = yield* post(`${url}/auth/refresh`, { refreshToken: login.refreshToken })
        expect(reused.status).toBe(401)
        const profile = yield* raw(`${url}/users/profile`, {
          headers: { authorization: `Bearer ${(registered.json as Tokens).accessToken}` }
        })
        expect(profile.status).toBe(200)
        // The request lines are written as each response leaves; give the last one a moment.
        yield* Effect.sleep("300 millis")

        const output = server.output()
        const secrets = [
          password,
          "not the password at all",
          ...[registered.json as Tokens, login, refresh].flatMap((tokens) => [tokens.accessToken, tokens.refreshToken])
        ]
        for (const secret of secrets) expect(output).not.toContain(secret)

        const lines = output
          .split("\n")
          .filter((line) => line.trim() !== "")
          .map((line) => JSON.parse(line) as LogLine)
        const requestLines = lines.filter((line) => line.message === "request")
        expect(requestLines.map((line) => line.annotations["route"])).toEqual(
          expect.arrayContaining(["/auth/register", "/auth/login", "/auth/refresh", "/users/profile"])
        )
        // Every line written while a request was handled carries its trace and span.
        const duringRequests = lines.filter((line) => line.annotations["requestId"] !== undefined)
        expect(duringRequests.length).toBeGreaterThanOrEqual(requestLines.length)
        for (const line of duringRequests) {
          expect(line.annotations["traceId"]).toMatch(/^[0-9a-f]{32}$/)
          expect(line.annotations["spanId"]).toMatch(/^[0-9a-f]{16}$/)
        }
        // Each request is a trace of its own.
        expect(new Set(requestLines.map((line) => line.annotations["traceId"])).size).toBe(requestLines.length)
      }).pipe(Effect.scoped),
    { timeout: 60_000 }
  )

  it.effect("mask fields named like secrets and token-shaped text, in messages and annotations", () =>
    Effect.gen(function* () {
      const written: Array<string> = []
      const log = vi.spyOn(globalThis.console, "log").mockImplementation((line: unknown) => {
        written.push(String(line))
      })
      const jwt = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
      yield* Effect.logWarning(
        "careless",
        { email: "a@example.com", password: "hunter2", form: { refreshToken: "refresh-secret-r1" } },
        `Authorization: Bearer opaque-123 and ${jwt}`
      ).pipe(
        Effect.annotateLogs({ accessToken: "access-secret-a1", user: "u1" }),
        Effect.withSpan("careless"),
        Effect.provide(LoggerLive),
        Effect.provide(testConfig({ logLevel: LogLevel.All, logFormat: "json" })),
        Effect.ensuring(Effect.sync(() => log.mockRestore()))
      )
      expect(written).toHaveLength(1)
      const line = written[0]!
      // Secrets are spelled so that no random trace or span id (hex) can contain them by chance.
      for (const secret of ["hunter2", "refresh-secret-r1", "access-secret-a1", "opaque-123", jwt]) {
        expect(line).not.toContain(secret)
      }
      const parsed = JSON.parse(line) as { message: unknown; annotations: Record<string, unknown> }
      expect(parsed.message).toEqual([
        "careless",
        { email: "a@example.com", password: "<redacted>", form: { refreshToken: "<redacted>" } },
        "Authorization: Bearer <redacted> and <redacted>"
      ])
      expect(parsed.annotations).toMatchObject({
        accessToken: "<redacted>",
        user: "u1",
        traceId: expect.stringMatching(/^[0-9a-f]{32}$/)
      })
    })
  )
})
