import { createRequire } from "node:module"
import {
  LOAD_RUNS,
  LOAD_SECONDS,
  load,
  type LoadResult,
  median,
  printLoadTable,
  registerBenchUser,
  start,
  stop,
  unlimitedAuth
} from "./support.js"

const json = { "content-type": "application/json" }
const LISTED = 200
const CONNECTIONS = 50

/** The part of `ws` used here; it ships no types, and Node 20 has no WebSocket of its own. */
interface RawSocket {
  send(data: string): void
  close(): void
  on(event: "open" | "close", listener: () => void): void
  on(event: "error", listener: (error: Error) => void): void
  on(event: "message", listener: (data: { toString(): string }) => void): void
}
const WebSocket = createRequire(import.meta.url)("ws") as new (url: string) => RawSocket

const requestLine = (id: number, tag: string, payload: unknown, token: string) =>
  JSON.stringify({ _tag: "Request", id: String(id), tag, payload, headers: [["authorization", `Bearer ${token}`]] }) +
  "\n"

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0

/**
 * What autocannon does for HTTP, over WebSocket: `connections` sockets, each sending its next request when the
 * previous one is answered, for LOAD_SECONDS; LOAD_RUNS runs, medians.
 */
const loadWebSocket = async (url: string, line: (id: number) => string, connections: number): Promise<LoadResult> => {
  const runs: Array<LoadResult> = []
  for (let run = 0; run < LOAD_RUNS; run++) {
    const latencies: Array<number> = []
    let errors = 0
    let open = true
    const sockets = await Promise.all(
      Array.from(
        { length: connections },
        () =>
          new Promise<RawSocket>((resolve, reject) => {
            const socket = new WebSocket(url)
            socket.on("open", () => resolve(socket))
            socket.on("error", reject)
          })
      )
    )
    const started = performance.now()
    const stopAt = setTimeout(() => (open = false), LOAD_SECONDS * 1000)
    await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            let id = 0
            let sentAt = 0
            const next = () => {
              if (!open) return resolve()
              sentAt = performance.now()
              socket.send(line(++id))
            }
            socket.on("message", (data) => {
              for (const text of data.toString().split("\n")) {
                if (text === "") continue
                const message = JSON.parse(text) as { _tag: string; exit?: { _tag: string } }
                if (message._tag !== "Exit") continue
                if (message.exit?._tag !== "Success") errors++
                latencies.push(performance.now() - sentAt)
                next()
              }
            })
            next()
          })
      )
    )
    clearTimeout(stopAt)
    const elapsed = (performance.now() - started) / 1000
    sockets.forEach((socket) => socket.close())
    const sorted = latencies.sort((a, b) => a - b)
    runs.push({
      rps: latencies.length / elapsed,
      p50: Math.round(percentile(sorted, 50)),
      p99: Math.round(percentile(sorted, 99)),
      errors
    })
  }
  return {
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    errors: runs.reduce((sum, r) => sum + r.errors, 0)
  }
}

/** `profile.get` and `projects.list` over RPC (HTTP and WebSocket), beside the same operations over the HTTP API. */
export const rpc = async () => {
  const server = await start({ env: unlimitedAuth })
  try {
    const { accessToken, authorization } = await registerBenchUser(server)
    await Promise.all(
      Array.from({ length: LISTED }, (_, i) =>
        fetch(`${server.url}/projects`, {
          method: "POST",
          headers: { ...authorization, ...json },
          body: JSON.stringify({ name: `Listed ${i}` })
        })
      )
    )
    const websocket = `${server.url.replace(/^http/, "ws")}/rpc/ws`
    // autocannon counts only non-2xx answers as errors; an RPC's failure is inside a 200, so check each once.
    const check = async (tag: string, payload: unknown) => {
      const response = await fetch(`${server.url}/rpc`, {
        method: "POST",
        headers: { "content-type": "application/ndjson" },
        body: requestLine(1, tag, payload, accessToken)
      })
      const text = await response.text()
      if (!text.includes('"exit":{"_tag":"Success"')) throw new Error(`${tag} over RPC answered ${text}`)
    }
    const operations = [
      { name: "profile.get", http: "/users/profile", tag: "profile.get", payload: null },
      { name: "projects.list", http: "/projects?limit=20", tag: "projects.list", payload: { limit: "20" } }
    ] as const

    const row = printLoadTable("RPC beside the HTTP API")
    for (const operation of operations) {
      await check(operation.tag, operation.payload)
      row(
        `${operation.name}: HTTP API (GET ${operation.http})`,
        CONNECTIONS,
        await load(() => ({ url: `${server.url}${operation.http}`, connections: CONNECTIONS, headers: authorization }))
      )
      row(
        `${operation.name}: RPC over HTTP (POST /rpc)`,
        CONNECTIONS,
        await load(() => ({
          url: `${server.url}/rpc`,
          connections: CONNECTIONS,
          method: "POST",
          headers: { "content-type": "application/ndjson" },
          body: requestLine(1, operation.tag, operation.payload, accessToken)
        }))
      )
      row(
        `${operation.name}: RPC over WebSocket (/rpc/ws)`,
        CONNECTIONS,
        await loadWebSocket(
          websocket,
          (id) => requestLine(id, operation.tag, operation.payload, accessToken),
          CONNECTIONS
        )
      )
    }
  } finally {
    await stop(server)
  }
}
