import { Effect, Layer } from "effect"
import { ConfigInvalid } from "../layers/config.js"
import { Queue } from "../layers/queue.js"
import { EventsModule } from "./core/events.js"
import { IdentityModule } from "./core/identity.js"
import { OperationsModule } from "./core/operations.js"
import { ProjectsModule } from "./core/projects.js"
import type { Migration, Module, Platform } from "./module.js"

/** Always on. */
export const coreModules: ReadonlyArray<Module> = [OperationsModule, IdentityModule, EventsModule, ProjectsModule]

/** Every plugin a deployment may turn on with PLUGINS, by name. HttpApi types are static, so all are imported. */
export const pluginRegistry: Readonly<Record<string, Module>> = {}

export const enabledModules = (
  pluginNames: ReadonlyArray<string>,
  registry: Readonly<Record<string, Module>> = pluginRegistry
) =>
  Effect.gen(function* () {
    const unknown = pluginNames.filter((name) => !Object.hasOwn(registry, name))
    if (unknown.length > 0) {
      const known = Object.keys(registry)
      return yield* new ConfigInvalid({
        problems: unknown.map(
          (name) => `PLUGINS: unknown plugin "${name}" (available: ${known.length === 0 ? "none" : known.join(", ")})`
        )
      })
    }
    const plugins = [...new Set(pluginNames)].flatMap((name) => {
      const plugin = registry[name]
      return plugin === undefined ? [] : [plugin]
    })
    const modules = [...coreModules, ...plugins]
    const owners = new Map<string, string>()
    const clashes: Array<string> = []
    for (const module of modules) {
      for (const group of module.groups) {
        const owner = owners.get(group.identifier)
        if (owner === undefined) owners.set(group.identifier, module.name)
        else clashes.push(`PLUGINS: ${module.name} and ${owner} both define the HTTP group "${group.identifier}"`)
      }
    }
    const rpcOwners = new Map<string, string>()
    for (const module of modules) {
      for (const tag of module.rpc?.group.requests.keys() ?? []) {
        const owner = rpcOwners.get(tag)
        if (owner === undefined) rpcOwners.set(tag, module.name)
        else clashes.push(`PLUGINS: ${module.name} and ${owner} both define the RPC "${tag}"`)
      }
    }
    if (clashes.length > 0) return yield* new ConfigInvalid({ problems: clashes })
    return modules
  })

export const migrationsOf = (core: Readonly<Record<string, Migration>>, modules: ReadonlyArray<Module>) =>
  Effect.gen(function* () {
    const migrations: Record<string, Migration> = { ...core }
    for (const module of modules) {
      for (const [id, migration] of Object.entries(module.migrations)) {
        if (Object.hasOwn(migrations, id)) {
          return yield* new ConfigInvalid({ problems: [`PLUGINS: migration ${id} of ${module.name} is claimed twice`] })
        }
        migrations[id] = migration
      }
    }
    return migrations
  })

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
