import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { request } from "node:http"
import { exitOf, spawnServer, waitUntilReady } from "./support/process.js"
import { freePort } from "./support/server.js"
import { tempDir } from "./support/settings.js"

const IN_FLIGHT = 50
const DRAIN_SECONDS = 3

interface Pending {
  /** Sends the rest of the body; the response arrives after. */
  readonly finish: () => void
  readonly response: Promise<{ readonly status: number; readonly body: string }>
}

/** A project creation whose headers and half its body are sent now: the server holds it in flight until `finish`. */
const startCreation = (port: number, token: string, index: number): Pending => {
  const body = JSON.stringify({ name: `in flight ${index}` })
  const half = Math.floor(body.length / 2)
  let finish = () => {}
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/projects",
        method: "POST",
        agent: false,
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body)
        }
      },
      (res) => {
        let text = ""
        res.on("data", (chunk: Buffer) => (text += chunk.toString()))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }))
      }
    )
    req.on("error", reject)
    req.flushHeaders()
    req.write(body.slice(0, half))
    finish = () => req.end(body.slice(half))
  })
  return { finish, response }
}

/** One request on a new connection: its status and problem detail, or "refused" if nothing listens. */
const probeReady = (url: string) =>
  Effect.promise(() =>
    fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(2000) }).then(
      async (response) => ({
        status: response.status,
        connection: response.headers.get("connection"),
        detail: String(((await response.json()) as { detail?: string }).detail ?? "")
      }),
      () => "refused" as const
    )
  )

/**
 * From the moment the port accepts connections until the server is ready, polls `/health/live` and collects how
 * each attempt ended: a status, or "hung" for a request left unanswered. Attempts refused before the port opens
 * are not collected.
 */
const probeStartup = (port: number) =>
  Effect.promise(async () => {
    const outcomes: Array<number | "hung"> = []
    const deadline = Date.now() + 90_000
    while (Date.now() < deadline) {
      const outcome = await fetch(`http://127.0.0.1:${port}/health/live`, { signal: AbortSignal.timeout(3000) }).then(
        async (response) => (await response.arrayBuffer(), response.status),
        (error: unknown) => (error instanceof DOMException && error.name === "TimeoutError" ? "hung" : "refused")
      )
      if (outcome !== "refused") outcomes.push(outcome)
      if (outcome === 200) return outcomes
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    return outcomes
  })

describe("Graceful shutdown", () => {
  it.live(
    "answers 503 until it serves; on SIGTERM fails readiness, then refuses connections, and finishes requests in flight",
    () =>
      Effect.gen(function* () {
        const port = yield* freePort()
        const url = `http://127.0.0.1:${port}`
        const server = yield* spawnServer({
          PORT: String(port),
          HOST: "127.0.0.1",
          DATA_DIR: tempDir("shutdown"),
          SHUTDOWN_DRAIN_SECONDS: String(DRAIN_SECONDS),
          SHUTDOWN_TIMEOUT_SECONDS: "30"
        })
        // While the API is not yet installed, requests are answered 503, not left waiting.
        const startup = yield* probeStartup(port)
        expect(startup.at(-1)).toBe(200)
        expect(startup.filter((outcome) => outcome !== 200 && outcome !== 503)).toEqual([])
        expect(yield* waitUntilReady(url, 90)).toBe(true)

        const registered = yield* Effect.promise(() =>
          fetch(`${url}/auth/register`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ email: "drain@example.com", password: "correct horse battery", name: "D" })
          }).then((response) => response.json() as Promise<{ accessToken: string }>)
        )
        const pending = Array.from({ length: IN_FLIGHT }, (_, index) =>
          startCreation(port, registered.accessToken, index)
        )
        // Let every request reach the server before the signal.
        yield* Effect.sleep("500 millis")
        const signalled = Date.now()
        server.child.kill("SIGTERM")

        const draining = yield* probeReady(url).pipe(
          Effect.repeat({ until: (probe) => probe !== "refused" && probe.status === 503, times: 20 })
        )
        expect(draining).toMatchObject({ status: 503, connection: "close" })
        expect(draining !== "refused" && draining.detail).toContain("Shutting down")
        expect(Date.now() - signalled).toBeLessThan(DRAIN_SECONDS * 1000)

        const refused = yield* probeReady(url).pipe(
          Effect.zipLeft(Effect.sleep("100 millis")),
          Effect.repeat({ until: (probe) => probe === "refused", times: 100 })
        )
        expect(refused).toBe("refused")
        expect(Date.now() - signalled).toBeGreaterThanOrEqual(DRAIN_SECONDS * 1000)
        expect(server.child.exitCode).toBeNull()

        for (const request of pending) request.finish()
        const responses = yield* Effect.promise(() => Promise.all(pending.map((request) => request.response)))
        expect(responses.map((response) => response.status)).toEqual(Array(IN_FLIGHT).fill(201))
        expect(new Set(responses.map((response) => (JSON.parse(response.body) as { name: string }).name)).size).toBe(
          IN_FLIGHT
        )
        expect(yield* exitOf(server)).toBe(0)
      }),
    { timeout: 150_000 }
  )
})
