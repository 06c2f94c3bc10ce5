import type { HttpApiGroup } from "@effect/platform"
import type { RpcGroup } from "@effect/rpc"
import { Config, type ConfigError, Effect, type Layer } from "effect"
import type { Cache } from "../layers/cache.js"
import type { Cipher } from "../layers/cipher.js"
import type { AppConfig } from "../layers/config.js"
import type { DatabaseNotifications, ReadReplica, SqlClient } from "../layers/database.js"
import type { PasswordHasher } from "../layers/password-hasher.js"
import type { ConsumerSpec, Queue } from "../layers/queue.js"
import type { RateLimiter } from "../layers/rate-limiter.js"
import type { Storage } from "../layers/storage.js"
import type { MetricsExposition } from "../layers/telemetry.js"
import type { TokenSigner } from "../layers/token-signer.js"
import type { Events } from "../services/events/events.js"
import type { RegisteredConsumers } from "../services/events/registered-consumers.js"
import type { Role } from "../services/identity/schema.js"
import type { Draining } from "../services/operations/draining.js"

/** What every module may ask for: the infrastructure that `src/layers/index.ts` provides. */
export type Platform =
  | AppConfig
  | SqlClient.SqlClient
  | ReadReplica
  | DatabaseNotifications
  | Cache
  | RateLimiter
  | Queue
  | Storage
  | PasswordHasher
  | Cipher
  | TokenSigner
  | MetricsExposition
  | Events
  | RegisteredConsumers
  | Draining

/** A module's typed RPC operations: the group clients are generated from, and its handlers. */
export interface RpcContribution {
  readonly group: RpcGroup.Any & { readonly requests: ReadonlyMap<string, unknown> }
  /**
   * The handlers of every RPC in `group`, built with the module's own services, merged with the
   * implementations of the middleware its RPCs require (`RpcAuthentication`); the server adds the rest.
   */
  readonly handlers: Layer.Layer<never, never, Platform>
}

export type Migration = Effect.Effect<void, unknown, SqlClient.SqlClient>

/**
 * A module bundles what a domain contributes. Core modules and plugins share this contract; `main.ts`
 * folds the enabled ones into one HttpApi, one RPC server, one migration list and one set of consumers.
 */
export interface Module {
  /** Unique, lower-case; the name `PLUGINS` uses for a plugin. */
  readonly name: string
  /** Keyed `NNNN_description`; each module keeps to its own id range. */
  readonly migrations: Readonly<Record<string, Migration>>
  readonly groups: ReadonlyArray<HttpApiGroup.HttpApiGroup.Any>
  /** The handlers of `groups` with the module's own services already provided to them. */
  readonly http: Layer.Layer<never, never, Platform>
  /** Served at `/rpc` (HTTP) and `/rpc/ws` (WebSocket) beside the HTTP API; optional. */
  readonly rpc?: RpcContribution
  /** Run in `worker` and `all` modes. */
  readonly consumers: ReadonlyArray<ConsumerSpec<Platform>>
  /** Background work (the outbox relay, retention jobs), run in `worker` and `all` modes after the consumers subscribe. */
  readonly workers?: Layer.Layer<never, never, Platform>
  /** Set for plugins: what start-up checks and records beyond the core contract. */
  readonly plugin?: PluginInfo
}

export const defineModule = (module: Module): Module => module

/**
 * What happens to the data a plugin keeps about a user when the account is deleted. `erase` runs in a
 * consumer of `user.deleted`, inside its transaction, retried with backoff like the storage purge until it
 * succeeds; `retainedBecause` says why the data outlives the account (shown in the start-up log).
 */
export type UserData =
  { readonly erase: (userId: string) => Effect.Effect<void, unknown, Platform> } | { readonly retainedBecause: string }

/** A permission a plugin adds to the role table: the roles allowed to do `action`. */
export interface Permission {
  /** `<plugin>.<verb>`, e.g. `audit.read`. */
  readonly name: string
  readonly action: string
  readonly roles: ReadonlyArray<Role>
}

export interface PluginInfo {
  readonly version: string
  readonly userData: UserData
  readonly permissions: ReadonlyArray<Permission>
}

/** What a plugin builds from its settings: a module without a name, plus how it treats user data. */
export type PluginParts = Omit<Module, "name" | "plugin"> & {
  readonly userData: UserData
  readonly permissions?: ReadonlyArray<Permission>
}

export interface PluginDefinition<Settings> {
  /** Lower-case letters, digits and dashes; `PLUGINS` names it, and its settings live under `PLUGIN_<NAME>_`. */
  readonly name: string
  /** Semantic version of the plugin, logged at start-up. */
  readonly version: string
  /** Read under the `PLUGIN_<NAME>_` prefix (`Config.string("SECRET")` is `PLUGIN_<NAME>_SECRET`). */
  readonly config: Config.Config<Settings>
  /**
   * Its migrations are recorded in a table of their own, so they are numbered from 0001 whatever else exists,
   * run when the plugin is first enabled, and are left alone when it is disabled.
   */
  readonly make: (settings: Settings) => PluginParts
}

/** A plugin with its settings type hidden, as the registry holds it. */
export interface Plugin {
  readonly name: string
  readonly version: string
  /** Reads the settings and builds the module; fails naming every setting that is missing or invalid. */
  readonly load: Effect.Effect<Module, ConfigError.ConfigError>
}

export const definePlugin = <Settings>(definition: PluginDefinition<Settings>): Plugin => {
  const configPrefix = `PLUGIN_${definition.name.toUpperCase().replaceAll("-", "_")}`
  return {
    name: definition.name,
    version: definition.version,
    load: Effect.map(Config.nested(definition.config, configPrefix), (settings) => {
      const { userData, permissions = [], ...parts } = definition.make(settings)
      return {
        name: definition.name,
        ...parts,
        plugin: { version: definition.version, userData, permissions }
      } satisfies Module
    })
  }
}
