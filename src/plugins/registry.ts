import { Effect, Layer } from "effect"
import { ConfigInvalid } from "../layers/config.js"
import { Queue } from "../layers/queue.js"
import { OperationsModule } from "./core/operations.js"
import type { Migration, Module } from "./module.js"

/** Always on. */
export const coreModules: ReadonlyArray<Module> = [OperationsModule]

/** Every plugin a deployment may turn on with PLUGINS, by name. HttpApi types are static, so all are imported. */
export const pluginRegistry: Readonly<Record<string, Module>> = {}

export const enabledModules = (pluginNames: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const unknown = pluginNames.filter((name) => !Object.hasOwn(pluginRegistry, name))
    if (unknown.length > 0) {
      const known = Object.keys(pluginRegistry)
      return yield* new ConfigInvalid({
        problems: unknown.map(
          (name) => `PLUGINS: unknown plugin "${name}" (available: ${known.length === 0 ? "none" : known.join(", ")})`
        )
      })
    }
    const plugins = [...new Set(pluginNames)].flatMap((name) => {
      const plugin = pluginRegistry[name]
      return plugin === undefined ? [] : [plugin]
    })
    return [...coreModules, ...plugins]
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

/** Every consumer of every enabled module, consuming until shutdown. */
export const consumersLive = (modules: ReadonlyArray<Module>) =>
  Layer.scopedDiscard(
    Effect.flatMap(Queue, (queue) =>
      Effect.forEach(
        modules.flatMap((module) => module.consumers),
        (consumer) => queue.consume(consumer),
        { discard: true }
      )
    )
  )
