import { NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect, Layer, Option } from "effect"
import { pathToFileURL } from "node:url"
import { foldApi } from "./http/api.js"
import { makeHttpLive } from "./http/server.js"
import { AppConfig, ConfigInvalid } from "./layers/config.js"
import { InfraLive } from "./layers/index.js"
import { LoggerLive } from "./layers/logger.js"
import { TracingLive } from "./layers/telemetry/tracing.js"
import { coreMigrations } from "./layers/migrations/core.js"
import { makeMigrationsLive } from "./layers/migrations/index.js"
import type { Platform, PluginInfo } from "./plugins/module.js"
import { makeRpcLive } from "./rpc/server.js"
import { RegisteredConsumers } from "./services/events/registered-consumers.js"
import { ServicesLive } from "./services/index.js"
import { OperationsModule } from "./plugins/core/operations.js"
import { consumersLive, enabledModules, migrationsOf, pluginMigrations } from "./plugins/registry.js"

const logPlugin = (name: string, plugin: PluginInfo) =>
  Effect.logInfo("Plugin enabled").pipe(
    Effect.annotateLogs({
      plugin: name,
      version: plugin.version,
      userData: "erase" in plugin.userData ? "erased with the account" : `kept: ${plugin.userData.retainedBecause}`,
      permissions: plugin.permissions.map((p) => `${p.name} (${p.roles.join(", ")})`).join("; ")
    })
  )

const Roles = Layer.unwrapEffect(
  Effect.gen(function* () {
    const { mode, plugins } = yield* AppConfig
    const modules = yield* enabledModules(plugins)
    const migrations = yield* migrationsOf(coreMigrations, modules)
    yield* Effect.forEach(modules, (m) => (m.plugin === undefined ? Effect.void : logPlugin(m.name, m.plugin)))
    const handlers = modules.reduce<Layer.Layer<never, never, Platform>>(
      (all, m) => Layer.merge(all, m.http),
      Layer.empty
    )
    const rpc = makeRpcLive(
      modules.flatMap((m) => (m.rpc === undefined ? [] : [m.rpc.group])),
      modules.reduce<Layer.Layer<never, never, Platform>>(
        (all, m) => (m.rpc === undefined ? all : Layer.merge(all, m.rpc.handlers)),
        Layer.empty
      )
    )
    const http = makeHttpLive(foldApi(modules.flatMap((m) => m.groups)), handlers, rpc)
    const workers = consumersLive(modules)
    // A worker serves the operations endpoints alone, so health probes and metric scrapes reach it too.
    const operations = makeHttpLive(foldApi(OperationsModule.groups), OperationsModule.http)
    const roles =
      mode === "server" ? http : mode === "worker" ? Layer.merge(workers, operations) : Layer.merge(http, workers)
    const consumers = Layer.succeed(
      RegisteredConsumers,
      modules.flatMap((m) => m.consumers.map((consumer) => consumer.name))
    )
    // Provided here rather than around Roles, so a bad configuration is reported before any backend is touched.
    return roles.pipe(
      Layer.provide(consumers),
      Layer.provide(makeMigrationsLive(migrations, pluginMigrations(modules))),
      Layer.provide(ServicesLive),
      Layer.provide(InfraLive)
    )
  })
)

const reportStartupFailure = (cause: Cause.Cause<unknown>) =>
  Option.match(Cause.failureOption(cause), {
    onSome: (error) =>
      error instanceof ConfigInvalid ? Console.error(error.message) : Effect.logError("Plinth stopped", cause),
    onNone: () => (Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logError("Plinth stopped", cause))
  })

/** The whole program for a given configuration; tests provide their own `AppConfig`. */
export const PlinthLive = Roles.pipe(Layer.provide(Layer.merge(LoggerLive, TracingLive)))

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  PlinthLive.pipe(
    Layer.provide(AppConfig.layer),
    Layer.launch,
    Effect.tapErrorCause(reportStartupFailure),
    NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
  )
}
