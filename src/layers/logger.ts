import { Effect, Layer, Logger } from "effect"
import { AppConfig } from "./config.js"

/** JSON lines for machines (LOG_FORMAT=json), a readable format for people; Redacted values print as <redacted>. */
export const LoggerLive = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ logFormat, logLevel }) =>
    Layer.merge(logFormat === "json" ? Logger.json : Logger.pretty, Logger.minimumLogLevel(logLevel))
  )
)
