import autocannon from "autocannon"
import { decodeJwt } from "jose"
import { spawn, type ChildProcess } from "node:child_process"
import { once } from "node:events"
import { createInterface } from "node:readline"
import {
  cpuMicros,
  freePort,
  LOAD_SECONDS,
  median,
  realBackends,
  registerBenchUser,
  start,
  stop,
  unlimitedAuth,
  WARM_UP_SECONDS
} from "./support.js"

const ROUNDS = 6
const CONNECTIONS = 20
const body = JSON.stringify({ name: "Bench project", description: "created under load" })

interface Contender {
  readonly name: string
  readonly url: string
  readonly token: string
  readonly process: ChildProcess
}

/** Starts the Fastify + pg reference on `databaseUrl`; answers once it listens, with the token it signed. */
const startReference = async (databaseUrl: string, ownerId: string): Promise<Contender> => {
  const port = await freePort()
  const child = spawn(process.execPath, ["--import", "tsx", "bench/reference/server.ts"], {
    env: { PATH: process.env["PATH"] ?? "", DATABASE_URL: databaseUrl, PORT: String(port), OWNER_ID: ownerId },
    stdio: ["ignore", "pipe", "inherit"]
  })
  const lines = createInterface({ input: child.stdout! })
  const [token] = (await Promise.race([
    once(lines, "line"),
    once(child, "exit").then(() => {
      throw new Error("the reference server exited before it listened")
    })
  ])) as [string]
  lines.close()
  return { name: "Fastify + pg reference", url: `http://127.0.0.1:${port}`, token, process: child }
}

const create = (contender: Contender, duration: number) =>
  autocannon({
    url: `${contender.url}/projects`,
    method: "POST",
    connections: CONNECTIONS,
    duration,
    headers: { authorization: `Bearer ${contender.token}`, "content-type": "application/json" },
    body
  })

/**
 * The projects issue's yardstick: `POST /projects` (c=20) against the Fastify + pg reference on the same database
 * and machine. Plinth runs twice: as `npm start` runs it (MODE=all, which also relays every event it writes), and
 * as MODE=server (the request path alone; a worker elsewhere relays). The servers are loaded in turn, in
 * alternating order, for several rounds; each round's ratio compares runs seconds apart, so the machine's drift
 * over the minutes of a benchmark cancels out. Needs PostgreSQL (BENCH_DATABASE_URL): the reference has no
 * embedded database.
 */
export const reference = async () => {
  if (realBackends().database === undefined) {
    console.log("\n## Creation against the Fastify + pg reference: skipped, it needs BENCH_DATABASE_URL")
    return
  }
  const all = await start({ env: unlimitedAuth })
  const serverOnly = await start({ env: { ...unlimitedAuth, MODE: "server" } })
  let fastify: Contender | undefined
  try {
    const plinth = await Promise.all(
      [
        { name: "Plinth, MODE=all", server: all },
        { name: "Plinth, MODE=server", server: serverOnly }
      ].map(async ({ name, server }) => ({
        name,
        url: server.url,
        token: (await registerBenchUser(server)).accessToken,
        process: server.child
      }))
    )
    const owner = decodeJwt(plinth[0]!.token).sub ?? ""
    fastify = await startReference(all.databaseUrl ?? "", owner)
    const contenders = [fastify, ...plinth]
    for (const contender of contenders) await create(contender, WARM_UP_SECONDS)

    const rates = contenders.map(() => [] as Array<number>)
    const cpu = contenders.map(() => [] as Array<number>)
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [...contenders.keys()] : [...contenders.keys()].reverse()
      for (const index of order) {
        const contender = contenders[index]!
        const before = cpuMicros(contender.process.pid ?? 0)
        const result = await create(contender, LOAD_SECONDS)
        const used = cpuMicros(contender.process.pid ?? 0) - before
        if (result.errors + result.non2xx > 0) throw new Error(`${contender.name}: ${result.non2xx} non-2xx answers`)
        rates[index]!.push(result.requests.average)
        cpu[index]!.push(used / result.requests.total)
      }
    }

    const ratios = (index: number) => rates[index]!.map((rate, round) => rate / rates[0]![round]!)
    console.log(
      `\n## Creation against the Fastify + pg reference (POST /projects, c=${CONNECTIONS}; ${WARM_UP_SECONDS} s warm-up, ${ROUNDS} rounds of ${LOAD_SECONDS} s in alternating order, medians)\n`
    )
    console.log("| server | requests/s | CPU per request | requests/s ÷ reference, per round (range) |")
    console.log("| --- | --- | --- | --- |")
    contenders.forEach((contender, index) => {
      const perRound = ratios(index)
      console.log(
        `| ${contender.name} | ${median(rates[index]!).toFixed(0)} | ${median(cpu[index]!).toFixed(0)} µs | ${median(perRound).toFixed(2)} (${Math.min(...perRound).toFixed(2)}–${Math.max(...perRound).toFixed(2)}) |`
      )
    })
  } finally {
    if (fastify !== undefined) {
      fastify.process.kill("SIGTERM")
      await once(fastify.process, "exit")
    }
    await stop(serverOnly)
    await stop(all)
  }
}
