import { describe, expect, it } from "@effect/vitest"
import { DockerfileParser, type Instruction } from "dockerfile-ast"
import { Effect } from "effect"
import { execFileSync, spawn } from "node:child_process"
import { cpSync, readFileSync, rmSync } from "node:fs"
import { join, posix } from "node:path"
import { exitOf, waitUntilReady } from "../support/process.js"
import { freePort, raw } from "../support/server.js"
import { tempDir } from "../support/settings.js"

/**
 * CI has no Docker engine, so the image cannot be built there. This reads the Dockerfile as Docker would and
 * checks what a build could otherwise only show at run time: that the runtime stage holds every package the
 * bundle loads from node_modules, and that it runs as a non-root user with a health check.
 */
const root = join(import.meta.dirname, "..", "..")
const dockerfile = DockerfileParser.parse(readFileSync(join(root, "Dockerfile"), "utf8"))
const packageJson = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  readonly scripts: Record<string, string>
  readonly dependencies: Record<string, string>
}
const lockfile = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as {
  readonly packages: Record<string, LockedPackage>
}

interface LockedPackage {
  readonly dependencies?: Record<string, string>
  readonly optionalDependencies?: Record<string, string>
  readonly os?: ReadonlyArray<string>
  readonly cpu?: ReadonlyArray<string>
}

interface Stage {
  readonly name: string | null
  readonly image: string | null
  readonly instructions: ReadonlyArray<Instruction>
}

const stages: ReadonlyArray<Stage> = (() => {
  const result: Array<{ name: string | null; image: string | null; instructions: Array<Instruction> }> = []
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === "FROM") {
      const from = dockerfile
        .getFROMs()
        .find((candidate) => candidate.getRange().start.line === instruction.getRange().start.line)
      result.push({ name: from?.getBuildStage() ?? null, image: from?.getImage() ?? null, instructions: [] })
    } else {
      result.at(-1)?.instructions.push(instruction)
    }
  }
  return result
})()

const runtime = stages.at(-1)!
const ofKind = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.getKeyword() === keyword)
const flagOf = (instruction: Instruction, name: string) =>
  "getFlags" in instruction && typeof instruction.getFlags === "function"
    ? (instruction.getFlags() as ReadonlyArray<{ getName(): string; getValue(): string | null }>)
        .find((flag) => flag.getName() === name)
        ?.getValue()
    : undefined

/** What the runtime stage copies out of another stage: `/app/node_modules/@node-rs` and the like. */
const copiedFrom = (stageName: string) =>
  ofKind(runtime, "COPY")
    .filter((copy) => flagOf(copy, "from") === stageName)
    .flatMap((copy) =>
      copy
        .getArguments()
        .slice(0, -1)
        .map((argument) => posix.normalize(argument.getValue()))
    )

const buildScript = packageJson.scripts["build"]!
const outfile = buildScript.match(/--outfile=(\S+)/)![1]!

/** The bundle's externals: the packages esbuild leaves for Node to load from node_modules at run time. */
const externals = [...buildScript.matchAll(/--external:(\S+)/g)].map((match) => match[1]!)

/** What `npm ci` installs for a package on Linux: it and its dependencies, skipping other platforms' binaries. */
const installedOnLinux = (name: string, seen = new Set<string>()): Set<string> => {
  const path = `node_modules/${name}`
  const locked = lockfile.packages[path]
  if (locked === undefined || seen.has(path)) return seen
  const forLinux =
    (locked.os === undefined || locked.os.includes("linux")) &&
    (locked.cpu === undefined || locked.cpu.some((cpu) => cpu === "x64" || cpu === "arm64"))
  if (!forLinux) return seen
  seen.add(path)
  for (const dependency of Object.keys({ ...locked.dependencies, ...locked.optionalDependencies })) {
    installedOnLinux(dependency, seen)
  }
  return seen
}

describe("Dockerfile", () => {
  it("builds in stages and runs from a small Node 22 base", () => {
    expect(stages.map((stage) => stage.name)).toEqual(["build", "production-dependencies", "runtime"])
    expect(runtime.image).toMatch(/^(node:22-alpine|gcr\.io\/distroless\/nodejs22)/)
  })

  it("installs production dependencies only for the runtime, never the build stage's node_modules", () => {
    const production = stages.find((stage) => stage.name === "production-dependencies")!
    expect(ofKind(production, "RUN").map((run) => run.getArgumentsContent())).toContainEqual(
      expect.stringMatching(/^npm ci\b.*--omit=dev/)
    )
    expect(copiedFrom("build")).toEqual(["/app/dist"])
  })

  it("carries every package the bundle loads at run time, with what it depends on", () => {
    const production = externals.filter((name) => name in packageJson.dependencies)
    expect(production).toEqual(expect.arrayContaining(["@electric-sql/pglite", "@node-rs/argon2", "@node-rs/bcrypt"]))
    const copied = copiedFrom("production-dependencies")
    const missing = production
      .flatMap((name) => [...installedOnLinux(name)])
      .filter((path) => !copied.some((source) => `/app/${path}/`.startsWith(`${source}/`)))
    expect(missing).toEqual([])
  })

  it("starts the bundle that npm run build writes", () => {
    const [cmd] = ofKind(runtime, "CMD")
    expect(cmd?.getArguments().map((argument) => argument.getValue().replace(/^\[?"|",?\]?$/g, ""))).toContain(outfile)
  })

  it("runs as a non-root user given by number, so Kubernetes' runAsNonRoot can verify it", () => {
    const users = ofKind(runtime, "USER")
    expect(users.length).toBeGreaterThan(0)
    const [user] = users.at(-1)!.getArgumentsContent()!.split(":")
    expect(user).toMatch(/^\d+$/)
    expect(Number(user)).toBeGreaterThan(0)
  })

  it("checks its health on /health/live", () => {
    const [healthcheck] = ofKind(runtime, "HEALTHCHECK")
    expect(healthcheck?.getArgumentsContent()).toMatch(/^CMD .*\/health\/live/)
  })

  it.scopedLive(
    "starts from the runtime stage's files alone and registers a user (PGlite and argon2 load)",
    () =>
      Effect.gen(function* () {
        const app = yield* Effect.acquireRelease(
          Effect.sync(() => tempDir("image")),
          (directory) => Effect.sync(() => rmSync(directory, { recursive: true, force: true }))
        )
        // package.json's own build command, writing where the runtime stage would hold the bundle.
        expect(copiedFrom("build")).toEqual([`/app/${posix.dirname(outfile)}`])
        execFileSync("sh", ["-c", buildScript.replace(`--outfile=${outfile}`, `--outfile=${join(app, outfile)}`)], {
          cwd: root,
          env: { ...process.env, PATH: `${join(root, "node_modules", ".bin")}:${process.env["PATH"] ?? ""}` },
          stdio: "ignore"
        })
        for (const source of copiedFrom("production-dependencies")) {
          const path = posix.relative("/app", source)
          cpSync(join(root, path), join(app, path), { recursive: true })
        }
        const imageEnv = Object.fromEntries(
          ofKind(runtime, "ENV").flatMap((env) => env.getArguments().map((argument) => argument.getValue().split("=")))
        )
        const [command, ...args] = ofKind(runtime, "CMD")[0]!
          .getArguments()
          .map((argument) => argument.getValue().replace(/^\[?"|",?\]?$/g, ""))
        expect(command).toBe("node")

        const port = yield* freePort()
        const env = { ...imageEnv, PORT: String(port), HOST: "127.0.0.1", DATA_DIR: join(app, "data") }
        const server = yield* Effect.acquireRelease(
          Effect.sync(() => {
            let output = ""
            const child = spawn(process.execPath, args, { cwd: app, env, stdio: ["ignore", "pipe", "pipe"] })
            child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
            child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
            return { child, output: () => output }
          }),
          ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
        )
        const url = `http://127.0.0.1:${port}`
        expect(yield* waitUntilReady(url), server.output()).toBe(true)
        const registered = yield* raw(`${url}/auth/register`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: "image@example.com", password: "correct horse battery", name: "Image" })
        })
        expect(registered.status, server.output()).toBe(201)
        server.child.kill("SIGTERM")
        expect(yield* exitOf(server), server.output()).toBe(0)
      }),
    { timeout: 60_000 }
  )

  it("sends only what the build stages copy to the Docker daemon", () => {
    const patterns = readFileSync(join(root, ".dockerignore"), "utf8")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#"))
    expect(patterns[0]).toBe("**")
    const sources = stages
      .flatMap((stage) => ofKind(stage, "COPY"))
      .filter((copy) => flagOf(copy, "from") === undefined)
      .flatMap((copy) =>
        copy
          .getArguments()
          .slice(0, -1)
          .map((argument) => argument.getValue())
      )
    for (const source of sources) {
      expect(patterns).toContainEqual(expect.stringMatching(new RegExp(`^!${source}(/\\*\\*)?$`)))
    }
  })
})
