import type { HttpApiGroup } from "@effect/platform"
import type { Effect, Layer } from "effect"
import type { Cache } from "../layers/cache.js"
import type { Cipher } from "../layers/cipher.js"
import type { AppConfig } from "../layers/config.js"
import type { DatabaseNotifications, ReadReplica, SqlClient } from "../layers/database.js"
import type { PasswordHasher } from "../layers/password-hasher.js"
import type { ConsumerSpec, Queue } from "../layers/queue.js"
import type { RateLimiter } from "../layers/rate-limiter.js"
import type { Storage } from "../layers/storage.js"
import type { TokenSigner } from "../layers/token-signer.js"
import type { Events } from "../services/events/events.js"
import type { RegisteredConsumers } from "../services/events/registered-consumers.js"
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
  | Events
  | RegisteredConsumers
  | Draining

export type Migration = Effect.Effect<void, unknown, SqlClient.SqlClient>

/**
 * A module bundles what a domain contributes. Core modules and plugins share this contract; `main.ts`
 * folds the enabled ones into one HttpApi, one migration list and one set of consumers.
 */
export interface Module {
  /** Unique, lower-case; the name `PLUGINS` uses for a plugin. */
  readonly name: string
  /** Keyed `NNNN_description`; each module keeps to its own id range. */
  readonly migrations: Readonly<Record<string, Migration>>
  readonly groups: ReadonlyArray<HttpApiGroup.HttpApiGroup.Any>
  /** The handlers of `groups` with the module's own services already provided to them. */
  readonly http: Layer.Layer<never, never, Platform>
  /** Run in `worker` and `all` modes. */
  readonly consumers: ReadonlyArray<ConsumerSpec<Platform>>
  /** Background work (the outbox relay, retention jobs), run in `worker` and `all` modes after the consumers subscribe. */
  readonly workers?: Layer.Layer<never, never, Platform>
}

export const defineModule = (module: Module): Module => module
