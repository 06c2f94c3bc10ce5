import { spawnSync } from "node:child_process"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { raw } from "../support/server.js"
import { tempDir } from "../support/settings.js"
import { backends, buildServer, type PluginServerOptions } from "./harness.js"

const openApiPaths = (url: string) =>
  Effect.map(raw(`${url}/openapi.json`), (response) => Object.keys((response.json as { paths: object }).paths))

/** Starts the program, reads what a client and an operator would check, and stops it again. */
const startAndInspect = (options: PluginServerOptions, base: Parameters<typeof buildServer>[1]) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const server = yield* Scope.extend(buildServer(options, base), scope)
    const paths = yield* openApiPaths(server.url)
    const docs = yield* raw(`${server.url}/docs`)
    const tables = yield* server.sql<{ tableName: string }>`
      select table_name from information_schema.tables where table_schema = 'public'`
    const migrationTables = tables.map((row) => row.tableName).filter((name) => name.endsWith("migrations"))
    yield* Scope.close(scope, Exit.void)
    return { paths, docs, tables: tables.map((row) => row.tableName), migrationTables }
  })

for (const backend of backends) {
  describe(`Plugins at start-up: ${backend.name}`, { timeout: 120_000 }, () => {
    it.scopedLive("mounts a plugin's endpoints exactly when it is on; migrates it once and keeps its tables", () =>
      Effect.gen(function* () {
        const base = { dataDir: tempDir("plugins-startup"), ...(yield* backend.settings) }

        const none = yield* startAndInspect({ plugins: [] }, base)
        expect(none.paths).not.toContain("/admin/audit")
        expect(none.paths).not.toContain("/projects/{id}/webhooks")
        expect(none.paths).toContain("/projects")
        expect(none.tables).not.toContain("audit_log")
        expect(none.tables).not.toContain("webhook_endpoints")

        const audit = yield* startAndInspect({ plugins: ["audit"] }, base)
        expect(audit.paths).toEqual(expect.arrayContaining(["/admin/audit", "/admin/audit/verify"]))
        expect(audit.paths).not.toContain("/projects/{id}/webhooks")
        expect(audit.docs.status).toBe(200)
        expect(audit.tables).toEqual(expect.arrayContaining(["audit_log", "audit_chain"]))
        expect(audit.tables).not.toContain("webhook_endpoints")
        expect(audit.migrationTables).toContain("plinth_plugin_audit_migrations")

        // Enabled later, webhooks migrates alone: its ids start at 0001 in its own table.
        const both = yield* startAndInspect({ plugins: ["audit", "webhooks"] }, base)
        expect(both.paths).toEqual(
          expect.arrayContaining([
            "/admin/audit",
            "/projects/{id}/webhooks",
            "/projects/{id}/webhooks/{webhookId}/deliveries",
            "/projects/{id}/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver"
          ])
        )
        expect(both.tables).toEqual(expect.arrayContaining(["webhook_endpoints", "webhook_deliveries"]))

        // Disabled again: the endpoints go, the tables stay.
        const off = yield* startAndInspect({ plugins: [] }, base)
        expect(off.paths).not.toContain("/admin/audit")
        expect(off.paths).not.toContain("/projects/{id}/webhooks")
        expect(off.tables).toEqual(expect.arrayContaining(["audit_log", "webhook_endpoints"]))
      })
    )
  })
}

describe("Plugins at start-up: the process", () => {
  it("stops with one message naming every bad plugin setting, read from PLUGIN_<NAME>_*", () => {
    const result = spawnSync(process.execPath, ["--import", "tsx", "src/main.ts"], {
      env: {
        PATH: process.env["PATH"] ?? "",
        DATA_DIR: tempDir("bad-plugin-config"),
        PLUGINS: "audit,webhooks",
        PLUGIN_AUDIT_RETENTION: "forever",
        PLUGIN_WEBHOOKS_MAX_ATTEMPTS: "0"
      },
      encoding: "utf8",
      timeout: 60_000
    })
    expect(result.status).toBe(1)
    expect(result.stderr).toContain("Plinth cannot start: the configuration is invalid.")
    expect(result.stderr).toContain('plugin audit: PLUGIN_AUDIT_RETENTION: Expected a duration but received "forever"')
    expect(result.stderr).toContain("plugin webhooks: PLUGIN_WEBHOOKS_MAX_ATTEMPTS: Expected an integer from 1 to 30")
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/^\s+at /m)
  })
})
