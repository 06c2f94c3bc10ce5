import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { exitOf, spawnServer, waitUntilReady } from "./support/process.js"
import { freePort } from "./support/server.js"
import { tempDir } from "./support/settings.js"

describe("The server process", () => {
  it.live(
    "starts on embedded defaults, stops cleanly on SIGTERM and SIGINT, and keeps its state across restarts",
    () =>
      Effect.gen(function* () {
        const dataDir = tempDir("lifecycle")
        const port = yield* freePort()
        const url = `http://127.0.0.1:${port}`
        const env = { PORT: String(port), HOST: "127.0.0.1", DATA_DIR: dataDir }

        const first = yield* spawnServer(env)
        expect(yield* waitUntilReady(url)).toBe(true)
        expect(existsSync(join(dataDir, "db"))).toBe(true)
        const keyFile = join(dataDir, "keys", "jwt-signing-keys.json")
        expect(existsSync(keyFile)).toBe(true)
        const jwksBefore = readFileSync(keyFile, "utf8")
        first.child.kill("SIGTERM")
        expect(yield* exitOf(first)).toBe(0)
        expect(
          yield* Effect.promise(() =>
            fetch(`${url}/health/live`).then(
              () => "open",
              () => "closed"
            )
          )
        ).toBe("closed")

        const second = yield* spawnServer(env)
        expect(yield* waitUntilReady(url)).toBe(true)
        const jwksAfter = readFileSync(keyFile, "utf8")
        expect(jwksAfter).toBe(jwksBefore)
        expect(second.output()).not.toContain("Database migrated")
        second.child.kill("SIGINT")
        expect(yield* exitOf(second)).toBe(0)
      }),
    { timeout: 90_000 }
  )

  it.live(
    "in worker mode serves the operations endpoints and nothing of the API",
    () =>
      Effect.gen(function* () {
        const port = yield* freePort()
        const url = `http://127.0.0.1:${port}`
        const worker = yield* spawnServer({ PORT: String(port), DATA_DIR: tempDir("worker"), MODE: "worker" })
        expect(yield* waitUntilReady(url, 60)).toBe(true)
        const status = (path: string) =>
          Effect.promise(() => fetch(`${url}${path}`).then((response) => response.status))
        expect(yield* status("/health/live")).toBe(200)
        expect(yield* status("/metrics")).toBe(200)
        expect(yield* status("/users/profile")).toBe(404)
        expect(yield* status("/openapi.json")).toBe(200)
        worker.child.kill("SIGTERM")
        expect(yield* exitOf(worker)).toBe(0)
      }),
    { timeout: 90_000 }
  )
})
