import { spawn, spawnSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Option, Schedule } from "effect"
import { Redis } from "ioredis"
import type { RedisTopology } from "../../src/layers/config.js"
import { freePort } from "./server.js"
import { requireServices } from "./services.js"
import { tempDir } from "./settings.js"

/**
 * Sentinel and Cluster deployments are started by the tests themselves from the `redis-server` binary (Debian's
 * redis-server package). Without it those suites skip, except under REQUIRE_SERVICES=1, where they fail.
 */
export const redisServerInstalled = (() => {
  const installed = spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0
  if (!installed && requireServices) {
    throw new Error("redis-server must be on PATH when REQUIRE_SERVICES=1: the Sentinel and Cluster suites need it")
  }
  return installed
})()

/** A redis-server (or sentinel) process in a directory of its own, stopped with the scope. */
const startRedisProcess = (args: ReadonlyArray<string>, readyWhen: string) =>
  Effect.acquireRelease(
    Effect.async<ReturnType<typeof spawn>>((resume) => {
      const child = spawn("redis-server", [...args], { stdio: ["ignore", "pipe", "pipe"] })
      let output = ""
      const onData = (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes(readyWhen)) {
          child.stdout?.off("data", onData)
          resume(Effect.succeed(child))
        }
      }
      child.stdout?.on("data", onData)
      child.once("exit", (code) => resume(Effect.dieMessage(`redis-server exited with ${code}: ${output}`)))
    }).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("redis-server did not start") })),
    (child) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null) return resume(Effect.void)
        child.once("exit", () => resume(Effect.void))
        child.kill("SIGKILL")
      })
  ).pipe(Effect.orDie)

const serverArgs = (port: number, dir: string) => [
  "--port",
  String(port),
  "--bind",
  "127.0.0.1",
  "--dir",
  dir,
  "--save",
  "",
  "--appendonly",
  "no"
]

/** A master and one sentinel watching it under the name `plinth`. */
export const startSentinel = Effect.gen(function* () {
  const dir = tempDir("sentinel")
  const masterPort = yield* freePort()
  const sentinelPort = yield* freePort()
  yield* startRedisProcess(serverArgs(masterPort, dir), "Ready to accept connections")
  const config = join(dir, "sentinel.conf")
  writeFileSync(
    config,
    [
      `port ${sentinelPort}`,
      "bind 127.0.0.1",
      `dir ${dir}`,
      `sentinel monitor plinth 127.0.0.1 ${masterPort} 1`,
      "sentinel down-after-milliseconds plinth 5000"
    ].join("\n")
  )
  yield* startRedisProcess([config, "--sentinel"], "+monitor master plinth")
  const topology: RedisTopology = {
    _tag: "Sentinel",
    sentinels: [{ host: "127.0.0.1", port: sentinelPort }],
    name: "plinth",
    sentinelPassword: Option.none()
  }
  return { topology, masterPort }
})

/** A one-node cluster holding every hash slot: enough for cluster commands, redirections aside. */
export const startCluster = Effect.gen(function* () {
  const dir = tempDir("cluster")
  const port = yield* freePort()
  yield* startRedisProcess(
    [
      ...serverArgs(port, dir),
      "--cluster-enabled",
      "yes",
      // A lone node does not know its own address until told; clients are sent to what it announces.
      "--cluster-announce-ip",
      "127.0.0.1",
      "--cluster-config-file",
      join(dir, "nodes.conf")
    ],
    "Ready to accept connections"
  )
  yield* Effect.acquireUseRelease(
    Effect.sync(() => new Redis(port, "127.0.0.1")),
    (admin) =>
      Effect.promise(() => admin.call("CLUSTER", "ADDSLOTSRANGE", "0", "16383")).pipe(
        Effect.zipRight(
          Effect.promise(() => admin.call("CLUSTER", "INFO")).pipe(
            Effect.repeat({
              schedule: Schedule.spaced("100 millis"),
              until: (info) => String(info).includes("cluster_state:ok")
            })
          )
        )
      ),
    (admin) => Effect.sync(() => admin.disconnect())
  )
  const topology: RedisTopology = { _tag: "Cluster", nodes: [{ host: "127.0.0.1", port }] }
  return { topology, port }
})
