import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Layer, LogLevel, Option } from "effect"
import { AppConfig, type AppSettings } from "../../src/layers/config.js"

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), `plinth-${prefix}-`))

/** Embedded defaults in a fresh data directory; a test overrides what it exercises. */
export const testSettings = (overrides: Partial<AppSettings> = {}): AppSettings => ({
  port: 0,
  host: "127.0.0.1",
  dataDir: tempDir("data"),
  mode: "all",
  databaseUrl: Option.none(),
  databaseReplicaUrl: Option.none(),
  databasePoolMax: 5,
  redisUrl: Option.none(),
  redisTopology: { _tag: "Standalone" },
  amqpUrl: Option.none(),
  amqpExchange: "plinth.events",
  s3: Option.none(),
  admin: Option.none(),
  jwtPrivateKeys: Option.none(),
  encryptionKeys: Option.none(),
  plugins: [],
  logLevel: LogLevel.Warning,
  logFormat: "json",
  jsonBodyLimit: 1024 * 1024,
  uploadMaxBytes: 25 * 1024 * 1024,
  storageRedirects: false,
  shutdownTimeoutSeconds: 5,
  shutdownDrainSeconds: 0,
  tls: Option.none(),
  corsOrigins: [],
  httpLimits: { headersTimeoutMillis: 10_000, requestTimeoutMillis: 300_000, maxHeaderBytes: 16 * 1024 },
  readinessTimeoutMillis: 1000,
  trustProxy: false,
  authRateLimitPerIp: 10_000,
  authRateLimitPerAccount: 10_000,
  loginFailureLimit: 10,
  refreshReuseGraceSeconds: 0,
  telemetry: { serviceName: "plinth", otlp: Option.none(), metricsToken: Option.none() },
  ...overrides
})

export const testConfig = (overrides: Partial<AppSettings> = {}) => Layer.succeed(AppConfig, testSettings(overrides))
