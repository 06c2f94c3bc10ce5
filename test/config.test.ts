import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, LogLevel, Option, Redacted } from "effect"
import { spawnSync } from "node:child_process"
import { AppConfig } from "../src/layers/config.js"
import { tempDir } from "./support/settings.js"

const load = (env: Record<string, string>) =>
  Effect.provide(
    AppConfig,
    AppConfig.layer.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))))
  )

describe("Configuration", () => {
  it.effect("runs on embedded defaults when nothing is set", () =>
    Effect.gen(function* () {
      const settings = yield* load({})
      expect(settings).toMatchObject({
        port: 3000,
        dataDir: "./data",
        mode: "all",
        databasePoolMax: 10,
        plugins: [],
        logLevel: LogLevel.Info,
        logFormat: "pretty",
        jsonBodyLimit: 1024 * 1024
      })
      expect(Option.isNone(settings.databaseUrl)).toBe(true)
      expect(Option.isNone(settings.s3)).toBe(true)
    })
  )

  it.effect("reads real backends, keeping secrets redacted", () =>
    Effect.gen(function* () {
      const settings = yield* load({
        DATABASE_URL: "postgres://app:hunter2@db/app",
        S3_BUCKET: "plinth",
        S3_ENDPOINT: "http://127.0.0.1:9000/",
        S3_FORCE_PATH_STYLE: "true",
        AWS_SECRET_ACCESS_KEY: "s3cr3t",
        PLUGINS: "audit, webhooks,",
        ADMIN_EMAIL: " Root@Example.com ",
        ADMIN_PASSWORD: "change-me-now"
      })
      expect(String(Option.getOrThrow(settings.databaseUrl))).not.toContain("hunter2")
      expect(Redacted.value(Option.getOrThrow(settings.databaseUrl))).toBe("postgres://app:hunter2@db/app")
      const s3 = Option.getOrThrow(settings.s3)
      expect(s3).toMatchObject({ bucket: "plinth", forcePathStyle: true, region: "us-east-1" })
      expect(Option.getOrThrow(s3.endpoint)).toBe("http://127.0.0.1:9000")
      expect(settings.plugins).toEqual(["audit", "webhooks"])
      expect(Option.getOrThrow(settings.admin).email).toBe("root@example.com")
      expect(JSON.stringify(settings)).not.toMatch(/hunter2|s3cr3t|change-me-now/)
    })
  )

  it.effect("exports traces only with a collector, and keeps the metrics token and OTLP headers redacted", () =>
    Effect.gen(function* () {
      expect((yield* load({})).telemetry).toEqual({
        serviceName: "plinth",
        otlp: Option.none(),
        metricsToken: Option.none()
      })
      const settings = yield* load({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/",
        OTEL_EXPORTER_OTLP_HEADERS: "api-key=t0ps3cret",
        OTEL_SERVICE_NAME: "plinth-eu",
        METRICS_TOKEN: "scr4pe"
      })
      expect(settings.telemetry.serviceName).toBe("plinth-eu")
      expect(Option.getOrThrow(settings.telemetry.otlp)).toMatchObject({
        endpoint: "http://collector:4318",
        protocol: "http/protobuf",
        exportIntervalMillis: 5000
      })
      expect(JSON.stringify(settings)).not.toMatch(/t0ps3cret|scr4pe/)
      const error = yield* Effect.flip(
        load({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })
      )
      expect(error.problems.join("\n")).toMatch(/OTEL_EXPORTER_OTLP_ENDPOINT[\s\S]*OTEL_EXPORTER_OTLP_PROTOCOL/)
    })
  )

  it.effect("lists every offending variable at once", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        load({
          PORT: "eighty",
          MODE: "fast",
          DATABASE_POOL_MAX: "0",
          LOG_FORMAT: "xml",
          LOG_LEVEL: "Warning",
          ADMIN_EMAIL: "root@example.com"
        })
      )
      expect(error._tag).toBe("ConfigInvalid")
      for (const variable of ["PORT", "MODE", "DATABASE_POOL_MAX", "LOG_FORMAT", "LOG_LEVEL", "ADMIN_PASSWORD"]) {
        expect(error.message).toContain(variable)
      }
      expect(error.message).toContain(
        'LOG_LEVEL: Expected one of all, trace, debug, info, warn, error, fatal, off, got "Warning"'
      )
    })
  )

  it.effect("reads TLS, CORS, HTTP limits, drain and Redis Sentinel or Cluster settings", () =>
    Effect.gen(function* () {
      const defaults = yield* load({})
      expect(defaults).toMatchObject({
        corsOrigins: [],
        shutdownDrainSeconds: 5,
        httpLimits: { headersTimeoutMillis: 10_000, requestTimeoutMillis: 300_000, maxHeaderBytes: 16_384 },
        redisTopology: { _tag: "Standalone" },
        amqpExchange: "plinth.events"
      })
      expect(Option.isNone(defaults.tls)).toBe(true)

      const settings = yield* load({
        TLS_CERT_FILE: "/etc/plinth/tls.crt",
        TLS_KEY_FILE: "/etc/plinth/tls.key",
        CORS_ORIGINS: "https://app.example.com, http://localhost:5173",
        HTTP_HEADERS_TIMEOUT_MS: "5000",
        HTTP_REQUEST_TIMEOUT_MS: "60000",
        HTTP_MAX_HEADER_BYTES: "8192",
        SHUTDOWN_DRAIN_SECONDS: "0",
        REDIS_URL: "rediss://:hunter2@ignored:6379/2",
        REDIS_SENTINELS: "10.0.0.1:26379, sentinel-b, [::1]:26380",
        REDIS_SENTINEL_NAME: "plinth",
        REDIS_SENTINEL_PASSWORD: "s3ntinel",
        AMQP_EXCHANGE: "plinth.staging"
      })
      expect(Option.getOrThrow(settings.tls)).toEqual({
        certFile: "/etc/plinth/tls.crt",
        keyFile: "/etc/plinth/tls.key"
      })
      expect(settings.corsOrigins).toEqual(["https://app.example.com", "http://localhost:5173"])
      expect(settings.httpLimits).toEqual({
        headersTimeoutMillis: 5000,
        requestTimeoutMillis: 60000,
        maxHeaderBytes: 8192
      })
      expect(settings.shutdownDrainSeconds).toBe(0)
      expect(settings.amqpExchange).toBe("plinth.staging")
      expect(settings.redisTopology).toMatchObject({
        _tag: "Sentinel",
        name: "plinth",
        sentinels: [
          { host: "10.0.0.1", port: 26379 },
          { host: "sentinel-b", port: 26379 },
          { host: "::1", port: 26380 }
        ]
      })
      expect(JSON.stringify(settings)).not.toMatch(/hunter2|s3ntinel/)

      const cluster = yield* load({ REDIS_CLUSTER_NODES: "redis-0:6379,redis-1:6380,redis-2" })
      expect(cluster.redisTopology).toEqual({
        _tag: "Cluster",
        nodes: [
          { host: "redis-0", port: 6379 },
          { host: "redis-1", port: 6380 },
          { host: "redis-2", port: 6379 }
        ]
      })
    })
  )

  it.effect("refuses half or contradictory TLS, CORS, limit and Redis settings, naming each variable", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [Record<string, string>, string]> = [
        [{ TLS_CERT_FILE: "/tls.crt" }, "TLS_KEY_FILE: TLS_CERT_FILE and TLS_KEY_FILE must be set together"],
        [{ CORS_ORIGINS: "https://app.example.com/" }, "CORS_ORIGINS: Expected origins like"],
        [{ CORS_ORIGINS: "*" }, 'got "*"'],
        [{ HTTP_HEADERS_TIMEOUT_MS: "70000", HTTP_REQUEST_TIMEOUT_MS: "60000" }, "HTTP_HEADERS_TIMEOUT_MS: Must not"],
        [{ HTTP_MAX_HEADER_BYTES: "0" }, "HTTP_MAX_HEADER_BYTES: Expected a positive integer"],
        [{ SHUTDOWN_DRAIN_SECONDS: "-1" }, "SHUTDOWN_DRAIN_SECONDS: Expected a whole number"],
        [{ REDIS_SENTINELS: "a:26379" }, "REDIS_SENTINEL_NAME: REDIS_SENTINELS needs the name"],
        [{ REDIS_SENTINEL_NAME: "plinth" }, "REDIS_SENTINELS: REDIS_SENTINEL_NAME and REDIS_SENTINEL_PASSWORD need"],
        [
          { REDIS_SENTINEL_PASSWORD: "secret" },
          "REDIS_SENTINELS: REDIS_SENTINEL_NAME and REDIS_SENTINEL_PASSWORD need"
        ],
        [
          { REDIS_CLUSTER_NODES: "a:6379,b:port" },
          'REDIS_CLUSTER_NODES: Expected host:port entries separated by commas, got "b:port"'
        ],
        [
          { REDIS_CLUSTER_NODES: "a:6379", REDIS_SENTINELS: "b:26379", REDIS_SENTINEL_NAME: "plinth" },
          "REDIS_CLUSTER_NODES: Set REDIS_SENTINELS or REDIS_CLUSTER_NODES, not both"
        ]
      ]
      for (const [env, message] of cases) {
        const error = yield* Effect.flip(load(env))
        expect(error.message).toContain(message)
      }
    })
  )

  it("stops start-up with that message and no stack trace", () => {
    const result = spawnSync(process.execPath, ["--import", "tsx", "src/main.ts"], {
      env: { PATH: process.env["PATH"] ?? "", PORT: "eighty", MODE: "fast", DATA_DIR: tempDir("bad-config") },
      encoding: "utf8",
      timeout: 30_000
    })
    expect(result.status).toBe(1)
    expect(result.stderr).toContain("Plinth cannot start: the configuration is invalid.")
    expect(result.stderr).toContain("PORT")
    expect(result.stderr).toContain("MODE")
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/^\s+at /m)
  })
})
