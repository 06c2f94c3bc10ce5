import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Rpc, RpcGroup } from "@effect/rpc"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { coreMigrations } from "../../src/layers/migrations/core.js"
import { defineModule } from "../../src/plugins/module.js"
import { coreModules, enabledModules, migrationsOf } from "../../src/plugins/registry.js"

const plugin = (name: string, group: string, migrationId: string, rpc = `${group}.ping`) =>
  defineModule({
    name,
    migrations: { [migrationId]: Effect.void },
    groups: [HttpApiGroup.make(group).add(HttpApiEndpoint.get("ping", `/${name}/ping`))],
    http: Layer.empty,
    rpc: { group: RpcGroup.make(Rpc.make(rpc)), handlers: Layer.empty },
    consumers: []
  })

describe("Module registry", () => {
  it.effect("enables the core modules and the named plugins, once each", () =>
    Effect.gen(function* () {
      const registry = { audit: plugin("audit", "audit", "1001_audit") }
      const modules = yield* enabledModules(["audit", "audit"], registry)
      expect(modules.map((m) => m.name)).toEqual([...coreModules.map((m) => m.name), "audit"])
      const migrations = yield* migrationsOf(coreMigrations, modules)
      expect(Object.keys(migrations)).toContain("1001_audit")
      expect(Object.keys(migrations)).toContain("0001_create_users")
    })
  )

  it.effect("refuses unknown plugins, naming them and what exists", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(enabledModules(["audit", "nope"], { audit: plugin("audit", "audit", "1001_a") }))
      expect(error.message).toContain('unknown plugin "nope" (available: audit)')
    })
  )

  it.effect("refuses two modules that claim the same group or the same migration id", () =>
    Effect.gen(function* () {
      const registry = { a: plugin("a", "shared", "1001_a"), b: plugin("b", "shared", "1001_a") }
      const groups = yield* Effect.flip(enabledModules(["a", "b"], registry))
      expect(groups.message).toContain('b and a both define the HTTP group "shared"')
      const migrations = yield* Effect.flip(
        migrationsOf(coreMigrations, [plugin("a", "a", "1001_x"), plugin("b", "b", "1001_x")])
      )
      expect(migrations.message).toContain("migration 1001_x of b is claimed twice")
      const rpcs = yield* Effect.flip(
        enabledModules(["a", "b"], {
          a: plugin("a", "a", "1001_a", "same.rpc"),
          b: plugin("b", "b", "1002_b", "same.rpc")
        })
      )
      expect(rpcs.message).toContain('b and a both define the RPC "same.rpc"')
    })
  )
})
