/**
 * `npm run bench`: starts the server itself on loopback, measures, stops it, and prints medians.
 *   npm run bench                       every scenario
 *   npm run bench -- startup http       chosen scenarios
 * Real backends: BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_AMQP_URL are passed to the server as
 * DATABASE_URL, REDIS_URL and AMQP_URL.
 */
import autocannon from "autocannon"
import { execFileSync, spawn, type ChildProcess } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

const RUNS = 5
const LOAD_RUNS = 3
const LOAD_SECONDS = 10

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer()
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      probe.close(() => resolve(port))
    })
  })

const backends = () => {
  const env: Record<string, string> = {}
  const pairs = [
    ["BENCH_DATABASE_URL", "DATABASE_URL"],
    ["BENCH_REDIS_URL", "REDIS_URL"],
    ["BENCH_AMQP_URL", "AMQP_URL"]
  ] as const
  for (const [from, to] of pairs) {
    const value = process.env[from]
    if (value !== undefined && value !== "") env[to] = value
  }
  return env
}

interface Server {
  readonly url: string
  readonly child: ChildProcess
  readonly readyAfterMs: number
}

const start = async (dataDir: string): Promise<Server> => {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const started = performance.now()
  const child = spawn(process.execPath, ["dist/main.mjs"], {
    env: {
      PATH: process.env["PATH"] ?? "",
      PORT: String(port),
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      LOG_LEVEL: "warn",
      LOG_FORMAT: "json",
      ...backends()
    },
    stdio: "ignore"
  })
  const deadline = started + 60_000
  while (performance.now() < deadline) {
    const ready = await fetch(`${url}/health/ready`).then(
      (response) => response.status === 200,
      () => false
    )
    if (ready) return { url, child, readyAfterMs: performance.now() - started }
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  child.kill("SIGKILL")
  throw new Error("the server did not become ready within 60 s")
}

const stop = (server: Server) =>
  new Promise<void>((resolve) => {
    server.child.once("exit", () => resolve())
    server.child.kill("SIGTERM")
  })

const rssMiB = (pid: number) => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? "0")
  return kib / 1024
}

const startup = async () => {
  const cold: Array<number> = []
  const warm: Array<number> = []
  const rss: Array<number> = []
  for (let run = 0; run < RUNS; run++) {
    const dataDir = mkdtempSync(join(tmpdir(), "plinth-bench-"))
    const first = await start(dataDir)
    cold.push(first.readyAfterMs)
    await stop(first)
    const second = await start(dataDir)
    warm.push(second.readyAfterMs)
    await new Promise((resolve) => setTimeout(resolve, 5000))
    rss.push(rssMiB(second.child.pid ?? 0))
    await stop(second)
    rmSync(dataDir, { recursive: true, force: true })
  }
  console.log(`\n## Start-up to a ready /health/ready (median of ${RUNS})\n`)
  console.log("| measure | median | runs |")
  console.log("| --- | --- | --- |")
  console.log(
    `| first start, empty DATA_DIR | ${median(cold).toFixed(0)} ms | ${cold.map((v) => v.toFixed(0)).join(", ")} |`
  )
  console.log(
    `| restart, existing DATA_DIR | ${median(warm).toFixed(0)} ms | ${warm.map((v) => v.toFixed(0)).join(", ")} |`
  )
  console.log(
    `| idle RSS, 5 s after ready | ${median(rss).toFixed(1)} MiB | ${rss.map((v) => v.toFixed(1)).join(", ")} |`
  )
}

interface LoadCase {
  readonly name: string
  readonly path: string
  readonly connections: number
}

const load = async (url: string, loadCase: LoadCase) => {
  const results: Array<autocannon.Result> = []
  for (let run = 0; run < LOAD_RUNS; run++) {
    results.push(
      await autocannon({ url: `${url}${loadCase.path}`, connections: loadCase.connections, duration: LOAD_SECONDS })
    )
  }
  const errors = results.reduce((sum, r) => sum + r.errors + r.non2xx, 0)
  return {
    name: loadCase.name,
    rps: median(results.map((r) => r.requests.average)),
    p50: median(results.map((r) => r.latency.p50)),
    p99: median(results.map((r) => r.latency.p99)),
    errors
  }
}

const http = async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "plinth-bench-"))
  const server = await start(dataDir)
  try {
    const cases: ReadonlyArray<LoadCase> = [
      { name: "GET /health/live", path: "/health/live", connections: 50 },
      { name: "GET /health/ready", path: "/health/ready", connections: 50 }
    ]
    console.log(`\n## HTTP (autocannon, ${LOAD_RUNS} runs of ${LOAD_SECONDS} s, medians)\n`)
    console.log("| request | connections | requests/s | p50 | p99 | errors |")
    console.log("| --- | --- | --- | --- | --- | --- |")
    for (const loadCase of cases) {
      const result = await load(server.url, loadCase)
      console.log(
        `| ${result.name} | ${loadCase.connections} | ${result.rps.toFixed(0)} | ${result.p50} ms | ${result.p99} ms | ${result.errors} |`
      )
    }
  } finally {
    await stop(server)
    rmSync(dataDir, { recursive: true, force: true })
  }
}

const scenarios: Record<string, () => Promise<void>> = { startup, http }
// The server runs as `npm start` runs it: the bundle, built once here.
execFileSync("npm", ["run", "build", "--silent"], { stdio: "inherit" })
const chosen = process.argv.slice(2).filter((name) => name !== "--")
const unknown = chosen.filter((name) => !(name in scenarios))
if (unknown.length > 0) {
  console.error(`unknown scenario: ${unknown.join(", ")} (known: ${Object.keys(scenarios).join(", ")})`)
  process.exit(2)
}
const backend = Object.keys(backends()).length === 0 ? "embedded defaults" : Object.keys(backends()).join(", ")
console.log(`# Plinth benchmark (${backend}; node ${process.version})`)
for (const name of chosen.length === 0 ? Object.keys(scenarios) : chosen) await scenarios[name]!()
