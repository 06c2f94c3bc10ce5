import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Rpc, RpcGroup } from "@effect/rpc"
import { describe, expect, it } from "@effect/vitest"
import { Config, ConfigProvider, Effect, Layer } from "effect"
import { coreMigrations } from "../../src/layers/migrations/core.js"
import { definePlugin, defineModule, type UserData } from "../../src/plugins/module.js"
import { coreModules, enabledModules, migrationsOf } from "../../src/plugins/registry.js"

const keeps: UserData = { retainedBecause: "test data only" }

const plugin = (name: string, group: string, path: `/${string}` = `/${name}/ping`, userData: UserData = keeps) =>
  definePlugin({
    name,
    version: "0.0.1",
    config: Config.succeed(undefined),
    make: () => ({
      migrations: { "0001_create": Effect.void },
      groups: [HttpApiGroup.make(group).add(HttpApiEndpoint.get("ping", path))],
      http: Layer.empty,
      consumers: [],
      userData
    })
  })

const withEnv = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)), { pathDelim: "_" }))

describe("Module registry", () => {
  it.effect("enables the core modules and the named plugins, once each", () =>
    Effect.gen(function* () {
      const registry = { audit: plugin("audit", "audit") }
      const modules = yield* enabledModules(["audit", "audit"], registry)
      expect(modules.map((m) => m.name)).toEqual([...coreModules.map((m) => m.name), "audit"])
      expect(modules.at(-1)?.plugin?.version).toBe("0.0.1")
      // Plugins keep their migrations apart from the core's, in a table of their own.
      const migrations = yield* migrationsOf(coreMigrations, modules)
      expect(Object.keys(migrations)).toContain("0001_create_users")
      expect(Object.keys(migrations)).not.toContain("0001_create")
    })
  )

  it.effect("refuses unknown plugins, naming them and what exists", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(enabledModules(["audit", "nope"], { audit: plugin("audit", "audit") }))
      expect(error.message).toContain('unknown plugin "nope" (available: audit)')
    })
  )

  it.effect("refuses two modules that claim the same group, the same path, or a core path", () =>
    Effect.gen(function* () {
      const registry = {
        a: plugin("a", "shared"),
        b: plugin("b", "shared", "/b/ping"),
        c: plugin("c", "c", "/a/ping"),
        d: plugin("d", "d", "/projects/:projectId")
      }
      const groups = yield* Effect.flip(enabledModules(["a", "b"], registry))
      expect(groups.message).toContain('b and a both define the HTTP group "shared"')
      const paths = yield* Effect.flip(enabledModules(["a", "c"], registry))
      expect(paths.message).toContain("c and a both claim GET /a/ping")
      const core = yield* Effect.flip(enabledModules(["d"], registry))
      expect(core.message).toContain("d and projects both claim GET /projects/:projectId")
    })
  )

  it.effect("refuses two plugins that define the same RPC", () =>
    Effect.gen(function* () {
      const withRpc = (name: string) =>
        definePlugin({
          name,
          version: "0.0.1",
          config: Config.succeed(undefined),
          make: () => ({
            migrations: {},
            groups: [],
            http: Layer.empty,
            rpc: { group: RpcGroup.make(Rpc.make("same.rpc")), handlers: Layer.empty },
            consumers: [],
            userData: keeps
          })
        })
      const error = yield* Effect.flip(enabledModules(["a", "b"], { a: withRpc("a"), b: withRpc("b") }))
      expect(error.message).toContain('b and a both define the RPC "same.rpc"')
    })
  )

  it.effect("reads a plugin's settings under PLUGIN_<NAME>_ and names every missing or invalid one", () =>
    Effect.gen(function* () {
      const configured = definePlugin({
        name: "greeter-pro",
        version: "1.0.0",
        config: Config.all({ greeting: Config.string("GREETING"), times: Config.integer("TIMES") }),
        make: (settings) => ({
          migrations: {},
          groups: [],
          http: Layer.empty,
          consumers: [],
          userData: { retainedBecause: `says ${settings.greeting} ${settings.times} times` }
        })
      })
      const error = yield* Effect.flip(
        enabledModules(["greeter-pro"], { "greeter-pro": configured }).pipe(withEnv({ PLUGIN_GREETER_PRO_TIMES: "x" }))
      )
      expect(error._tag).toBe("ConfigInvalid")
      expect(error.message).toContain("plugin greeter-pro: PLUGIN_GREETER_PRO_GREETING")
      expect(error.message).toContain("plugin greeter-pro: PLUGIN_GREETER_PRO_TIMES")
      const modules = yield* enabledModules(["greeter-pro"], { "greeter-pro": configured }).pipe(
        withEnv({ PLUGIN_GREETER_PRO_GREETING: "hi", PLUGIN_GREETER_PRO_TIMES: "3" })
      )
      expect(modules.at(-1)?.plugin?.userData).toEqual({ retainedBecause: "says hi 3 times" })
    })
  )

  it.effect("refuses a plugin that declares neither an eraser nor why it keeps user data", () =>
    Effect.gen(function* () {
      const silent = plugin("silent", "silent", "/silent", { retainedBecause: " " })
      const error = yield* Effect.flip(enabledModules(["silent"], { silent }))
      expect(error.message).toContain(
        'plugin "silent" declares neither how a deleted account\'s data is erased nor why it is kept'
      )
    })
  )

  it.effect("runs a plugin's eraser as a consumer of user.deleted, retried like the storage purge", () =>
    Effect.gen(function* () {
      const erasing = plugin("erasing", "erasing", "/erasing", { erase: () => Effect.void })
      const modules = yield* enabledModules(["erasing"], { erasing })
      const consumer = modules.at(-1)?.consumers[0]
      expect(consumer).toMatchObject({ name: "erasing-user-erasure", routingKeys: ["user.deleted"], maxAttempts: 16 })
    })
  )

  it.effect("keeps the core's own migration ids unique", () =>
    Effect.gen(function* () {
      const clash = defineModule({
        name: "x",
        migrations: { "0001_create_users": Effect.void },
        groups: [],
        http: Layer.empty,
        consumers: []
      })
      const error = yield* Effect.flip(migrationsOf(coreMigrations, [clash]))
      expect(error.message).toContain("migration 0001_create_users of x is claimed twice")
    })
  )
})
