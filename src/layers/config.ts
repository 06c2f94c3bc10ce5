import { Config, ConfigError, Context, Data, Effect, Either, Layer, LogLevel, Option, type Redacted } from "effect"

export interface S3Settings {
  readonly bucket: string
  readonly endpoint: Option.Option<string>
  readonly region: string
  readonly forcePathStyle: boolean
  readonly accessKeyId: Option.Option<Redacted.Redacted>
  readonly secretAccessKey: Option.Option<Redacted.Redacted>
}

export interface OtlpSettings {
  /** The collector's base URL; traces go to `<endpoint>/v1/traces`. */
  readonly endpoint: string
  readonly protocol: "http/protobuf" | "http/json"
  /** Sent with every export, e.g. a vendor's API key. */
  readonly headers: Option.Option<Redacted.Redacted>
  /** How long finished spans wait to be sent in one batch. */
  readonly exportIntervalMillis: number
}

export interface TelemetrySettings {
  readonly serviceName: string
  /** Traces are exported only when a collector is configured. */
  readonly otlp: Option.Option<OtlpSettings>
  /** When set, `GET /metrics` wants `Authorization: Bearer <token>`. */
  readonly metricsToken: Option.Option<Redacted.Redacted>
}

export interface RedisNode {
  readonly host: string
  readonly port: number
}

/** How the Redis of REDIS_URL is deployed; with Sentinel or Cluster, REDIS_URL only gives credentials, TLS and db. */
export type RedisTopology =
  | { readonly _tag: "Standalone" }
  | {
      readonly _tag: "Sentinel"
      readonly sentinels: ReadonlyArray<RedisNode>
      readonly name: string
      readonly sentinelPassword: Option.Option<Redacted.Redacted>
    }
  | { readonly _tag: "Cluster"; readonly nodes: ReadonlyArray<RedisNode> }

export interface TlsFiles {
  readonly certFile: string
  readonly keyFile: string
}

export interface HttpLimits {
  readonly headersTimeoutMillis: number
  readonly requestTimeoutMillis: number
  readonly maxHeaderBytes: number
}

export interface AppSettings {
  readonly port: number
  readonly host: string
  readonly dataDir: string
  readonly mode: "all" | "server" | "worker"
  readonly databaseUrl: Option.Option<Redacted.Redacted>
  readonly databaseReplicaUrl: Option.Option<Redacted.Redacted>
  readonly databasePoolMax: number
  readonly redisUrl: Option.Option<Redacted.Redacted>
  readonly redisTopology: RedisTopology
  readonly amqpUrl: Option.Option<Redacted.Redacted>
  readonly amqpExchange: string
  readonly s3: Option.Option<S3Settings>
  readonly admin: Option.Option<{ readonly email: string; readonly password: Redacted.Redacted }>
  readonly jwtPrivateKeys: Option.Option<Redacted.Redacted>
  readonly encryptionKeys: Option.Option<Redacted.Redacted>
  readonly plugins: ReadonlyArray<string>
  readonly logLevel: LogLevel.LogLevel
  readonly logFormat: "json" | "pretty"
  readonly jsonBodyLimit: number
  readonly uploadMaxBytes: number
  readonly storageRedirects: boolean
  readonly shutdownTimeoutSeconds: number
  readonly shutdownDrainSeconds: number
  readonly tls: Option.Option<TlsFiles>
  readonly corsOrigins: ReadonlyArray<string>
  readonly httpLimits: HttpLimits
  readonly readinessTimeoutMillis: number
  readonly trustProxy: boolean
  readonly authRateLimitPerIp: number
  readonly authRateLimitPerAccount: number
  readonly loginFailureLimit: number
  readonly refreshReuseGraceSeconds: number
  readonly telemetry: TelemetrySettings
}

const optionalRedacted = (name: string) => Config.option(Config.redacted(name))
const positiveInteger = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    Config.validate({ message: "Expected a positive integer", validation: (n) => n > 0 }),
    Config.withDefault(fallback)
  )

const wholeNumber = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    Config.validate({ message: "Expected a whole number, 0 or more", validation: (n) => n >= 0 }),
    Config.withDefault(fallback)
  )

const commaList = (name: string) =>
  Config.string(name).pipe(
    Config.withDefault(""),
    Config.map((raw) =>
      raw
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item.length > 0)
    )
  )

const parseNode = (entry: string, defaultPort: number): RedisNode | undefined => {
  try {
    const url = new URL(`redis://${entry}`)
    if (url.hostname === "" || url.pathname !== "" || url.username !== "" || url.search !== "") return undefined
    return { host: url.hostname.replace(/^\[(.*)\]$/, "$1"), port: url.port === "" ? defaultPort : Number(url.port) }
  } catch {
    return undefined
  }
}

const redisNodes = (name: string, defaultPort: number) =>
  commaList(name).pipe(
    Config.mapOrFail((entries) => {
      const nodes = entries.map((entry) => parseNode(entry, defaultPort))
      const bad = entries.filter((_, index) => nodes[index] === undefined)
      return bad.length > 0
        ? Either.left(
            ConfigError.InvalidData([name], `Expected host:port entries separated by commas, got "${bad.join('", "')}"`)
          )
        : Either.right(nodes.filter((node) => node !== undefined))
    })
  )

const redisTopology: Config.Config<RedisTopology> = Config.all({
  sentinels: redisNodes("REDIS_SENTINELS", 26379),
  name: Config.option(Config.nonEmptyString("REDIS_SENTINEL_NAME")),
  sentinelPassword: optionalRedacted("REDIS_SENTINEL_PASSWORD"),
  clusterNodes: redisNodes("REDIS_CLUSTER_NODES", 6379)
}).pipe(
  Config.mapOrFail(
    ({ sentinels, name, sentinelPassword, clusterNodes }): Either.Either<RedisTopology, ConfigError.ConfigError> => {
      if (sentinels.length > 0 && clusterNodes.length > 0) {
        return Either.left(
          ConfigError.InvalidData(["REDIS_CLUSTER_NODES"], "Set REDIS_SENTINELS or REDIS_CLUSTER_NODES, not both")
        )
      }
      if (clusterNodes.length > 0) return Either.right({ _tag: "Cluster", nodes: clusterNodes })
      if (sentinels.length === 0) {
        return Option.isSome(name) || Option.isSome(sentinelPassword)
          ? Either.left(
              ConfigError.InvalidData(
                ["REDIS_SENTINELS"],
                "REDIS_SENTINEL_NAME and REDIS_SENTINEL_PASSWORD need REDIS_SENTINELS"
              )
            )
          : Either.right({ _tag: "Standalone" })
      }
      return Option.match(name, {
        onNone: () =>
          Either.left(
            ConfigError.InvalidData(["REDIS_SENTINEL_NAME"], "REDIS_SENTINELS needs the name of the monitored master")
          ),
        onSome: (name) => Either.right({ _tag: "Sentinel" as const, sentinels, name, sentinelPassword })
      })
    }
  )
)

const tlsFiles = Config.all({
  certFile: Config.option(Config.nonEmptyString("TLS_CERT_FILE")),
  keyFile: Config.option(Config.nonEmptyString("TLS_KEY_FILE"))
}).pipe(
  Config.mapOrFail(({ certFile, keyFile }) => {
    if (Option.isSome(certFile) && Option.isSome(keyFile)) {
      return Either.right(Option.some({ certFile: certFile.value, keyFile: keyFile.value }))
    }
    if (Option.isNone(certFile) && Option.isNone(keyFile)) return Either.right(Option.none())
    return Either.left(
      ConfigError.InvalidData(
        [Option.isSome(certFile) ? "TLS_KEY_FILE" : "TLS_CERT_FILE"],
        "TLS_CERT_FILE and TLS_KEY_FILE must be set together"
      )
    )
  })
)

const corsOrigins = commaList("CORS_ORIGINS").pipe(
  Config.mapOrFail((origins) => {
    const bad = origins.filter((origin) => {
      try {
        const url = new URL(origin)
        return !["http:", "https:"].includes(url.protocol) || url.origin !== origin
      } catch {
        return true
      }
    })
    return bad.length > 0
      ? Either.left(
          ConfigError.InvalidData(
            ["CORS_ORIGINS"],
            `Expected origins like https://app.example.com (scheme, host and port only), got "${bad.join('", "')}"`
          )
        )
      : Either.right(origins)
  })
)

/** Node refuses a headers timeout longer than the request timeout, so the pair is checked here, by name. */
const httpLimits: Config.Config<HttpLimits> = Config.all({
  headersTimeoutMillis: positiveInteger("HTTP_HEADERS_TIMEOUT_MS", 10_000),
  requestTimeoutMillis: positiveInteger("HTTP_REQUEST_TIMEOUT_MS", 300_000),
  maxHeaderBytes: positiveInteger("HTTP_MAX_HEADER_BYTES", 16 * 1024)
}).pipe(
  Config.mapOrFail((limits) =>
    limits.headersTimeoutMillis <= limits.requestTimeoutMillis
      ? Either.right(limits)
      : Either.left(ConfigError.InvalidData(["HTTP_HEADERS_TIMEOUT_MS"], "Must not exceed HTTP_REQUEST_TIMEOUT_MS"))
  )
)

const s3Settings: Config.Config<Option.Option<S3Settings>> = Config.all({
  bucket: Config.option(Config.nonEmptyString("S3_BUCKET")),
  endpoint: Config.option(Config.url("S3_ENDPOINT").pipe(Config.map((url) => url.toString().replace(/\/$/, "")))),
  region: Config.string("S3_REGION").pipe(Config.withDefault("us-east-1")),
  forcePathStyle: Config.boolean("S3_FORCE_PATH_STYLE").pipe(Config.withDefault(false)),
  accessKeyId: optionalRedacted("AWS_ACCESS_KEY_ID"),
  secretAccessKey: optionalRedacted("AWS_SECRET_ACCESS_KEY")
}).pipe(Config.map(({ bucket, ...rest }) => Option.map(bucket, (bucket) => ({ bucket, ...rest }))))

const adminSettings = Config.all({
  email: Config.option(Config.nonEmptyString("ADMIN_EMAIL")),
  password: optionalRedacted("ADMIN_PASSWORD")
}).pipe(
  Config.mapOrFail(({ email, password }) => {
    if (Option.isSome(email) && Option.isSome(password)) {
      return Either.right(Option.some({ email: email.value.trim().toLowerCase(), password: password.value }))
    }
    if (Option.isNone(email) && Option.isNone(password)) return Either.right(Option.none())
    return Either.left(
      ConfigError.InvalidData(
        [Option.isSome(email) ? "ADMIN_PASSWORD" : "ADMIN_EMAIL"],
        "ADMIN_EMAIL and ADMIN_PASSWORD must be set together"
      )
    )
  })
)

const otlpSettings: Config.Config<Option.Option<OtlpSettings>> = Config.all({
  endpoint: Config.option(
    Config.url("OTEL_EXPORTER_OTLP_ENDPOINT").pipe(Config.map((url) => url.toString().replace(/\/$/, "")))
  ),
  protocol: Config.literal(
    "http/protobuf",
    "http/json"
  )("OTEL_EXPORTER_OTLP_PROTOCOL").pipe(Config.withDefault("http/protobuf" as const)),
  headers: optionalRedacted("OTEL_EXPORTER_OTLP_HEADERS"),
  exportIntervalMillis: positiveInteger("OTEL_BSP_SCHEDULE_DELAY", 5000)
}).pipe(Config.map(({ endpoint, ...rest }) => Option.map(endpoint, (endpoint) => ({ endpoint, ...rest }))))

const telemetrySettings: Config.Config<TelemetrySettings> = Config.all({
  serviceName: Config.nonEmptyString("OTEL_SERVICE_NAME").pipe(Config.withDefault("plinth")),
  otlp: otlpSettings,
  metricsToken: optionalRedacted("METRICS_TOKEN")
})

const pluginList = Config.string("PLUGINS").pipe(
  Config.withDefault(""),
  Config.map((raw) =>
    raw
      .split(",")
      .map((name) => name.trim())
      .filter((name) => name.length > 0)
  )
)

const logLevelSetting = Config.string("LOG_LEVEL").pipe(
  Config.withDefault("info"),
  Config.mapOrFail((value) => {
    const level = LogLevel.allLevels.find((candidate) => candidate.label === value.trim().toUpperCase())
    return level === undefined
      ? Either.left(
          ConfigError.InvalidData(
            ["LOG_LEVEL"],
            `Expected one of ${LogLevel.allLevels.map((l) => l.label.toLowerCase()).join(", ")}, got "${value}"`
          )
        )
      : Either.right(level)
  })
)

export const appSettings: Config.Config<AppSettings> = Config.all({
  port: Config.port("PORT").pipe(Config.withDefault(3000)),
  host: Config.string("HOST").pipe(Config.withDefault("0.0.0.0")),
  dataDir: Config.nonEmptyString("DATA_DIR").pipe(Config.withDefault("./data")),
  mode: Config.literal("all", "server", "worker")("MODE").pipe(Config.withDefault("all" as const)),
  databaseUrl: optionalRedacted("DATABASE_URL"),
  databaseReplicaUrl: optionalRedacted("DATABASE_REPLICA_URL"),
  databasePoolMax: positiveInteger("DATABASE_POOL_MAX", 10),
  redisUrl: optionalRedacted("REDIS_URL"),
  redisTopology,
  amqpUrl: optionalRedacted("AMQP_URL"),
  amqpExchange: Config.nonEmptyString("AMQP_EXCHANGE").pipe(Config.withDefault("plinth.events")),
  s3: s3Settings,
  admin: adminSettings,
  jwtPrivateKeys: optionalRedacted("JWT_PRIVATE_KEYS"),
  encryptionKeys: optionalRedacted("ENCRYPTION_KEYS"),
  plugins: pluginList,
  logLevel: logLevelSetting,
  logFormat: Config.literal("json", "pretty")("LOG_FORMAT").pipe(Config.withDefault("pretty" as const)),
  jsonBodyLimit: positiveInteger("JSON_BODY_LIMIT", 1024 * 1024),
  uploadMaxBytes: positiveInteger("UPLOAD_MAX_BYTES", 25 * 1024 * 1024),
  storageRedirects: Config.boolean("STORAGE_REDIRECTS").pipe(Config.withDefault(false)),
  shutdownTimeoutSeconds: positiveInteger("SHUTDOWN_TIMEOUT_SECONDS", 10),
  shutdownDrainSeconds: wholeNumber("SHUTDOWN_DRAIN_SECONDS", 5),
  tls: tlsFiles,
  corsOrigins,
  httpLimits,
  readinessTimeoutMillis: positiveInteger("READINESS_TIMEOUT_MS", 1000),
  trustProxy: Config.boolean("TRUST_PROXY").pipe(Config.withDefault(false)),
  authRateLimitPerIp: positiveInteger("AUTH_RATE_LIMIT_PER_IP", 60),
  authRateLimitPerAccount: positiveInteger("AUTH_RATE_LIMIT_PER_ACCOUNT", 20),
  loginFailureLimit: positiveInteger("LOGIN_FAILURE_LIMIT", 10),
  refreshReuseGraceSeconds: Config.integer("REFRESH_REUSE_GRACE_SECONDS").pipe(
    Config.validate({ message: "Expected a whole number of seconds, 0 or more", validation: (n) => n >= 0 }),
    Config.withDefault(0)
  ),
  telemetry: telemetrySettings
})

/** Start-up refuses to run with this message, which names every offending variable at once. */
export class ConfigInvalid extends Data.TaggedError("ConfigInvalid")<{ readonly problems: ReadonlyArray<string> }> {
  override get message() {
    return ["Plinth cannot start: the configuration is invalid.", ...this.problems.map((p) => `  - ${p}`)].join("\n")
  }
}

const describe = (path: ReadonlyArray<string>, message: string) =>
  `${path.length > 0 ? path.join("_") : "(root)"}: ${message}`

export const configProblems = (error: ConfigError.ConfigError): ReadonlyArray<string> =>
  Array.from(
    new Set(
      ConfigError.reduceWithContext<undefined, ReadonlyArray<string>>(error, undefined, {
        andCase: (_, left, right) => [...left, ...right],
        orCase: (_, left, right) => [...left, ...right],
        invalidDataCase: (_, path, message) => [describe(path, message)],
        missingDataCase: (_, path, message) => [describe(path, message)],
        sourceUnavailableCase: (_, path, message) => [describe(path, message)],
        unsupportedCase: (_, path, message) => [describe(path, message)]
      })
    )
  )

export class AppConfig extends Context.Tag("app/AppConfig")<AppConfig, AppSettings>() {
  static readonly layer = Layer.effect(
    AppConfig,
    Effect.mapError(appSettings, (error) => new ConfigInvalid({ problems: configProblems(error) }))
  )
}
