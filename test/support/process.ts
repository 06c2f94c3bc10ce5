import { type ChildProcess, spawn } from "node:child_process"
import { Effect } from "effect"

export interface ServerProcess {
  readonly child: ChildProcess
  readonly output: () => string
}

/** `npm start`'s command line, run directly so the test holds the server's own pid. */
export const spawnServer = (env: Record<string, string>) =>
  Effect.sync((): ServerProcess => {
    let output = ""
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      // No drain by default: a test that exercises it sets SHUTDOWN_DRAIN_SECONDS itself.
      env: { PATH: process.env["PATH"] ?? "", LOG_FORMAT: "json", SHUTDOWN_DRAIN_SECONDS: "0", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()))
    return { child, output: () => output }
  })

export const exitOf = (server: ServerProcess) =>
  Effect.async<number | null>((resume) => {
    if (server.child.exitCode !== null) return resume(Effect.succeed(server.child.exitCode))
    server.child.once("exit", (code) => resume(Effect.succeed(code)))
  })

export const waitUntilReady = (url: string, seconds = 30) =>
  Effect.promise(async () => {
    const deadline = Date.now() + seconds * 1000
    while (Date.now() < deadline) {
      const ready = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(2000) }).then(
        (response) => response.status === 200,
        () => false
      )
      if (ready) return true
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    return false
  })
