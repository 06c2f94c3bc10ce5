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
