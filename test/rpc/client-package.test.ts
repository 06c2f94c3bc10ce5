import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { promisify } from "node:util"

const run = promisify(execFile)
const root = join(import.meta.dirname, "..", "..")

describe("the plinth/client package entry", () => {
  it.live(
    "builds, and a consumer type-checks against the built declarations, not the sources",
    () =>
      Effect.promise(async () => {
        await run("npm", ["run", "build:client", "--silent"], { cwd: root })
        const tsconfig = join(root, "dist", "tsconfig.consumer.json")
        writeFileSync(
          tsconfig,
          JSON.stringify({
            extends: "../tsconfig.json",
            // Without the source condition, `plinth/client` resolves as a consumer's would: to dist/.
            compilerOptions: { customConditions: [], traceResolution: true },
            include: ["../test/rpc/consumer.typecheck.ts"]
          })
        )
        const { stdout } = await run(
          process.execPath,
          [join(root, "node_modules", "typescript-7", "bin", "tsc"), "--noEmit", "-p", tsconfig],
          { cwd: root, maxBuffer: 64 * 1024 * 1024 }
        )
        expect(stdout).toMatch(/'plinth\/client' was successfully resolved to '[^']*dist\/types\/rpc\/client\.d\.ts'/)
        expect(stdout).toMatch(
          /'plinth\/client\/plugins' was successfully resolved to '[^']*dist\/types\/plugins\/client\.d\.ts'/
        )
        const bundle = (await import(pathToFileURL(join(root, "dist", "client.mjs")).href)) as Record<string, unknown>
        expect(typeof bundle["makeClient"]).toBe("function")
        expect(typeof bundle["makePromiseClient"]).toBe("function")
        const plugins = (await import(pathToFileURL(join(root, "dist", "client-plugins.mjs")).href)) as Record<
          string,
          { readonly requests?: ReadonlyMap<string, unknown> }
        >
        expect([...(plugins["AuditRpcs"]?.requests?.keys() ?? [])]).toEqual(["audit.list", "audit.verify"])
        expect([...(plugins["WebhooksRpcs"]?.requests?.keys() ?? [])]).toHaveLength(5)
      }),
    120_000
  )
})
