import { HttpApi, type HttpApiGroup } from "@effect/platform"
import { Context, Effect, Either, Layer } from "effect"
import { ConfigInvalid, configProblems } from "../layers/config.js"
import { Queue } from "../layers/queue.js"
import { eventConsumer } from "../services/events/consumer.js"
import { Role } from "../services/identity/schema.js"
import { AuditPlugin } from "./audit/index.js"
import { EventsModule } from "./core/events.js"
import { IdentityModule } from "./core/identity.js"
import { OperationsModule } from "./core/operations.js"
import { ProjectsModule } from "./core/projects.js"
import type { Migration, Module, Platform, Plugin, PluginInfo } from "./module.js"
import { WebhooksPlugin } from "./webhooks/index.js"

/** Always on. */
export const coreModules: ReadonlyArray<Module> = [OperationsModule, IdentityModule, EventsModule, ProjectsModule]

/** Every plugin a deployment may turn on with PLUGINS, by name. HttpApi types are static, so all are imported. */
export const pluginRegistry: Readonly<Record<string, Plugin>> = {
  [AuditPlugin.name]: AuditPlugin,
  [WebhooksPlugin.name]: WebhooksPlugin
}

/** The plugins PLUGINS chooses from; a test may offer others (the example plugin). */
export class PluginRegistry extends Context.Reference<PluginRegistry>()("app/PluginRegistry", {
  defaultValue: (): Readonly<Record<string, Plugin>> => pluginRegistry
}) {}

const PLUGIN_NAME = /^[a-z][a-z0-9-]{0,30}$/

/** Deliveries of `user.deleted` to a plugin's eraser: sixteen attempts from 1 second, as the storage purge. */
const erasureConsumer = (module: Module, erase: (userId: string) => Effect.Effect<void, unknown, Platform>) =>
  eventConsumer({
    name: `${module.name}-user-erasure`,
    events: ["user.deleted"],
    maxAttempts: 16,
    retryBaseDelay: "1 second",
    handle: (event) => erase(event.payload.userId).pipe(Effect.withSpan("PluginErasure.handle"))
  })

const pluginProblems = (module: Module, info: PluginInfo): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const userData: Partial<Record<"erase" | "retainedBecause", unknown>> = info.userData
  const erases = typeof userData.erase === "function"
  const retains = typeof userData.retainedBecause === "string" && userData.retainedBecause.trim() !== ""
  if (!erases && !retains) {
    problems.push(
      `PLUGINS: plugin "${module.name}" declares neither how a deleted account's data is erased nor why it is kept`
    )
  }
  for (const permission of info.permissions) {
    if (!permission.name.startsWith(`${module.name}.`)) {
      problems.push(`PLUGINS: permission "${permission.name}" of ${module.name} must start with "${module.name}."`)
    }
    const unknownRoles = permission.roles.filter((role) => !Role.literals.includes(role))
    if (unknownRoles.length > 0) {
      problems.push(`PLUGINS: permission "${permission.name}" names unknown roles ${unknownRoles.join(", ")}`)
    }
  }
  return problems
}

/** `GET /projects/:` for `GET /projects/:id`: parameters match whatever they are named. */
const routesOf = (group: HttpApiGroup.HttpApiGroup.Any) => {
  const routes: Array<{ readonly key: string; readonly label: string }> = []
  HttpApi.reflect(HttpApi.make("routes").add(group), {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) =>
      routes.push({
        key: `${endpoint.method} ${endpoint.path.replace(/:[^/]+/g, ":")}`,
        label: `${endpoint.method} ${endpoint.path}`
      })
  })
  return routes
}

/** Two modules may not share a group name, nor answer the same method on the same path. */
const clashes = (modules: ReadonlyArray<Module>): ReadonlyArray<string> => {
  const groupOwners = new Map<string, string>()
  const routeOwners = new Map<string, string>()
  const problems: Array<string> = []
  for (const module of modules) {
    for (const group of module.groups) {
      const owner = groupOwners.get(group.identifier)
      if (owner === undefined) groupOwners.set(group.identifier, module.name)
      else problems.push(`PLUGINS: ${module.name} and ${owner} both define the HTTP group "${group.identifier}"`)
      for (const route of routesOf(group)) {
        const routeOwner = routeOwners.get(route.key)
        if (routeOwner === undefined) routeOwners.set(route.key, module.name)
        else if (routeOwner !== module.name) {
          problems.push(`PLUGINS: ${module.name} and ${routeOwner} both claim ${route.label}`)
        }
      }
    }
  }
  const rpcOwners = new Map<string, string>()
  for (const module of modules) {
    for (const tag of module.rpc?.group.requests.keys() ?? []) {
      const owner = rpcOwners.get(tag)
      if (owner === undefined) rpcOwners.set(tag, module.name)
      else problems.push(`PLUGINS: ${module.name} and ${owner} both define the RPC "${tag}"`)
    }
  }
  return problems
}

/**
 * The core modules and the named plugins, each plugin built from its settings. Every problem (an unknown
 * name, a missing or invalid setting, no user-data declaration, a clash) is reported at once.
 */
export const enabledModules = (pluginNames: ReadonlyArray<string>, registry?: Readonly<Record<string, Plugin>>) =>
  Effect.gen(function* () {
    const available = registry ?? (yield* PluginRegistry)
    const unknown = pluginNames.filter((name) => !Object.hasOwn(available, name))
    if (unknown.length > 0) {
      const known = Object.keys(available)
      return yield* new ConfigInvalid({
        problems: unknown.map(
          (name) => `PLUGINS: unknown plugin "${name}" (available: ${known.length === 0 ? "none" : known.join(", ")})`
        )
      })
    }
    const problems: Array<string> = []
    const plugins: Array<Module> = []
    for (const name of new Set(pluginNames)) {
      const plugin = available[name]!
      if (!PLUGIN_NAME.test(plugin.name) || plugin.name !== name) {
        problems.push(`PLUGINS: "${name}" is registered with the invalid or different name "${plugin.name}"`)
        continue
      }
      const loaded = yield* Effect.either(plugin.load)
      if (Either.isLeft(loaded)) {
        problems.push(...configProblems(loaded.left).map((problem) => `plugin ${name}: ${problem}`))
        continue
      }
      const module = loaded.right
      const info = module.plugin!
      const own = pluginProblems(module, info)
      problems.push(...own)
      if (own.length > 0) continue
      plugins.push(
        "erase" in info.userData
          ? { ...module, consumers: [...module.consumers, erasureConsumer(module, info.userData.erase)] }
          : module
      )
    }
    const modules = [...coreModules, ...plugins]
    problems.push(...clashes(modules))
    if (problems.length > 0) return yield* new ConfigInvalid({ problems })
    return modules
  })

/** The migrations of the core modules, recorded together in one table. */
export const migrationsOf = (core: Readonly<Record<string, Migration>>, modules: ReadonlyArray<Module>) =>
  Effect.gen(function* () {
    const migrations: Record<string, Migration> = { ...core }
    for (const module of modules) {
      if (module.plugin !== undefined) continue
      for (const [id, migration] of Object.entries(module.migrations)) {
        if (Object.hasOwn(migrations, id)) {
          return yield* new ConfigInvalid({ problems: [`PLUGINS: migration ${id} of ${module.name} is claimed twice`] })
        }
        migrations[id] = migration
      }
    }
    return migrations
  })

/** Each plugin records its migrations in a table of its own, so enabling it later migrates it alone. */
const pluginMigrationTable = (name: string) => `plinth_plugin_${name.replaceAll("-", "_")}_migrations`

export const pluginMigrations = (modules: ReadonlyArray<Module>) =>
  modules.flatMap((module) =>
    module.plugin === undefined ? [] : [{ table: pluginMigrationTable(module.name), migrations: module.migrations }]
  )

/**
 * Every consumer and background worker of every enabled module, running until shutdown. The workers start
 * once every consumer has subscribed, so the relay never publishes an event before the queues that should
 * receive it exist.
 */
export const consumersLive = (modules: ReadonlyArray<Module>) =>
  modules
    .reduce<Layer.Layer<never, never, Platform>>(
      (all, module) => (module.workers === undefined ? all : Layer.merge(all, module.workers)),
      Layer.empty
    )
    .pipe(
      Layer.provide(
        Layer.scopedDiscard(
          Effect.flatMap(Queue, (queue) =>
            Effect.forEach(
              modules.flatMap((module) => module.consumers),
              (consumer) => queue.consume(consumer),
              { discard: true }
            )
          )
        )
      )
    )
