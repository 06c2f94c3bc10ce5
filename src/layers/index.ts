import { Effect, Layer, Option } from "effect"
import { join } from "node:path"
import { makeCacheMemory } from "./cache/memory.js"
import { makeCacheRedis } from "./cache/redis.js"
import { AppConfig } from "./config.js"
import { makeCipherAesGcm } from "./crypto/aes-gcm.js"
import { PasswordHasherArgon2 } from "./crypto/argon2.js"
import { makeTokenSignerJose } from "./crypto/jose-signer.js"
import { loadKeyMaterial } from "./crypto/keys.js"
import { ReadReplica, SqlClient } from "./database.js"
import { makePgliteClient } from "./database/pglite.js"
import { makePostgresClient, makePostgresReplica } from "./database/postgres.js"
import { makeQueueAmqp } from "./queue/amqp.js"
import { QueueMemory } from "./queue/memory.js"
import { RateLimiterMemoryLive } from "./rate-limiter/memory.js"
import { makeRateLimiterRedis } from "./rate-limiter/redis.js"
import { redisConnectionOf } from "./redis/client.js"
import { makeStorageFiles } from "./storage/files.js"
import { makeStorageS3 } from "./storage/s3.js"
import { MetricsExpositionPrometheus } from "./telemetry/prometheus.js"

const CACHE_MAX_ENTRIES = 10_000
export const TOKEN_ISSUER = "plinth"
export const TOKEN_AUDIENCE = "plinth"

/** Each backend is the real one when its URL is configured and the embedded one otherwise. */
const DatabaseLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (settings) => {
    const primary = Option.match(settings.databaseUrl, {
      onNone: () => makePgliteClient(join(settings.dataDir, "db")),
      onSome: (url) => makePostgresClient({ url, maxConnections: settings.databasePoolMax })
    })
    const replica = Option.match(settings.databaseReplicaUrl, {
      onNone: () => Layer.effect(ReadReplica, SqlClient.SqlClient),
      onSome: (url) => makePostgresReplica({ url, maxConnections: settings.databasePoolMax })
    })
    return replica.pipe(Layer.provideMerge(primary))
  })
)

const CacheLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (settings) =>
    Option.match(redisConnectionOf(settings), {
      onNone: () => makeCacheMemory(CACHE_MAX_ENTRIES),
      onSome: makeCacheRedis
    })
  )
)

export const RateLimiterLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (settings) =>
    Option.match(redisConnectionOf(settings), {
      onNone: () => RateLimiterMemoryLive,
      onSome: makeRateLimiterRedis
    })
  )
)

const QueueLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (settings) =>
    Option.match(settings.amqpUrl, {
      onNone: () => QueueMemory,
      onSome: (url) => makeQueueAmqp(url, { exchange: settings.amqpExchange })
    })
  )
)

const CryptoLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const keys = yield* loadKeyMaterial(yield* AppConfig)
    return Layer.mergeAll(
      PasswordHasherArgon2,
      makeCipherAesGcm(keys.encryption),
      makeTokenSignerJose({ keys: keys.signing, issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE })
    )
  })
)

/** Files on disk are sealed with the Cipher's key ring; S3 encrypts server-side. */
const StorageLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (settings) =>
    Option.match(settings.s3, {
      onNone: () => makeStorageFiles(join(settings.dataDir, "files")),
      onSome: makeStorageS3
    })
  )
).pipe(Layer.provide(CryptoLive))

export const InfraLive = Layer.mergeAll(
  DatabaseLive,
  CacheLive,
  RateLimiterLive,
  QueueLive,
  StorageLive,
  CryptoLive,
  MetricsExpositionPrometheus
)
