/** What every benchmark scenario shares: the server as `npm start` runs it, load runs, medians and tables. */
import autocannon from "autocannon"
import { spawn, type ChildProcess } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createDatabase, dropDatabase } from "../test/support/postgres.js"

export const LOAD_RUNS = 3
export const LOAD_SECONDS = Number(process.env["BENCH_SECONDS"] ?? "10")
/** Load before the measured runs, discarded: the first seconds of a fresh process are V8 compiling the hot path. */
export const WARM_UP_SECONDS = 3

export const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

export const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer()
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      probe.close(() => resolve(port))
    })
  })

/** BENCH_DATABASE_URL, BENCH_REDIS_URL and BENCH_AMQP_URL select real backends; each run gets a fresh database. */
export const realBackends = () => {
  const pick = (name: string) => {
    const value = process.env[name]
    return value === undefined || value === "" ? undefined : value
  }
  return { database: pick("BENCH_DATABASE_URL"), redis: pick("BENCH_REDIS_URL"), amqp: pick("BENCH_AMQP_URL") }
}

export const backendLabel = () => {
  const { database, redis, amqp } = realBackends()
  const real = [database && "PostgreSQL", redis && "Redis", amqp && "RabbitMQ"].filter(Boolean)
  return real.length === 0 ? "embedded defaults" : real.join(" + ")
}

export interface Server {
  readonly url: string
  readonly child: ChildProcess
  readonly readyAfterMs: number
  readonly dataDir: string
  /** The fresh database the server runs on, when BENCH_DATABASE_URL is set. */
  readonly databaseUrl: string | undefined
}

export const newDataDir = () => mkdtempSync(join(tmpdir(), "plinth-bench-"))

export const freshDatabase = async (adminUrl: string) => {
  const { name, url } = await createDatabase(adminUrl, "plinth_bench")
  return { url, drop: () => dropDatabase(adminUrl, name) }
}

const running = new Map<Server, () => Promise<void>>()

export const start = async (
  options: { readonly dataDir?: string; readonly env?: Record<string, string> } = {}
): Promise<Server> => {
  const dataDir = options.dataDir ?? newDataDir()
  const { database, redis, amqp } = realBackends()
  const fresh = database === undefined ? undefined : await freshDatabase(database)
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
      ...(fresh === undefined ? {} : { DATABASE_URL: fresh.url }),
      ...(redis === undefined ? {} : { REDIS_URL: redis }),
      ...(amqp === undefined ? {} : { AMQP_URL: amqp }),
      ...options.env
    },
    stdio: "ignore"
  })
  const deadline = started + 60_000
  while (performance.now() < deadline) {
    const ready = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(2000) }).then(
      (response) => response.status === 200,
      () => false
    )
    if (ready) {
      const server = { url, child, readyAfterMs: performance.now() - started, dataDir, databaseUrl: fresh?.url }
      running.set(server, async () => {
        await fresh?.drop()
        if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true })
      })
      return server
    }
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  child.kill("SIGKILL")
  await fresh?.drop()
  throw new Error("the server did not become ready within 60 s")
}

export const stop = async (server: Server) => {
  await new Promise<void>((resolve) => {
    server.child.once("exit", () => resolve())
    server.child.kill("SIGTERM")
  })
  await running.get(server)?.()
  running.delete(server)
}

export const rssMiB = (pid: number) => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? "0")
  return kib / 1024
}

/** CPU time (user and system, every thread) the process has used so far, in microseconds; Linux only. */
export const cpuMicros = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? []
  const ticks = Number(fields[11]) + Number(fields[12])
  return (ticks * 1_000_000) / CLOCK_TICKS_PER_SECOND
}

/** USER_HZ, the unit of /proc CPU times: 100 on x86 and Arm Linux. */
const CLOCK_TICKS_PER_SECOND = 100

export interface LoadResult {
  readonly rps: number
  readonly p50: number
  readonly p99: number
  readonly errors: number
}

/**
 * A warm-up, then LOAD_RUNS runs of LOAD_SECONDS each; medians of the runs. `fresh` builds the options anew
 * for every run.
 */
export const load = async (fresh: () => Promise<autocannon.Options> | autocannon.Options): Promise<LoadResult> => {
  await autocannon({ ...(await fresh()), duration: WARM_UP_SECONDS })
  const results: Array<autocannon.Result> = []
  for (let run = 0; run < LOAD_RUNS; run++) {
    results.push(await autocannon({ duration: LOAD_SECONDS, ...(await fresh()) }))
  }
  return {
    rps: median(results.map((r) => r.requests.average)),
    p50: median(results.map((r) => r.latency.p50)),
    p99: median(results.map((r) => r.latency.p99)),
    errors: results.reduce((sum, r) => sum + r.errors + r.non2xx, 0)
  }
}

export const printLoadTable = (title: string) => {
  console.log(
    `\n## ${title} (${backendLabel()}; autocannon, ${WARM_UP_SECONDS} s warm-up, ${LOAD_RUNS} runs of ${LOAD_SECONDS} s, medians)\n`
  )
  console.log("| request | connections | requests/s | p50 | p99 | non-2xx or errors |")
  console.log("| --- | --- | --- | --- | --- | --- |")
  return (name: string, connections: number, result: LoadResult) =>
    console.log(
      `| ${name} | ${connections} | ${result.rps.toFixed(0)} | ${result.p50} ms | ${result.p99} ms | ${result.errors} |`
    )
}

/** Auth rate limits raised for a run: a benchmark is one client address sending thousands of requests a second. */
export const unlimitedAuth = {
  AUTH_RATE_LIMIT_PER_IP: "100000000",
  AUTH_RATE_LIMIT_PER_ACCOUNT: "100000000",
  LOGIN_FAILURE_LIMIT: "100000000"
}

/** Registers a fresh account on `server`; answers its access token and the header that carries it. */
export const registerBenchUser = async (server: Server) => {
  const registered = await fetch(`${server.url}/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      email: `bench-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}@example.com`,
      password: "bench-password-1",
      name: "Bench"
    })
  })
  if (registered.status !== 201)
    throw new Error(`registration answered ${registered.status}: ${await registered.text()}`)
  const { accessToken } = (await registered.json()) as { accessToken: string }
  return { accessToken, authorization: { authorization: `Bearer ${accessToken}` } }
}
