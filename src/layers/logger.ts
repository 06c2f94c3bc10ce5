import { Context, Effect, FiberRef, FiberRefs, HashMap, Inspectable, Layer, Logger, Option, Tracer } from "effect"
import { AppConfig } from "./config.js"

const secretKey = /pass(word|phrase)?$|secret|token|authori[sz]ation|cookie|api[-_]?key|private[-_]?key|credential/i
const jwt = /\beyJ[\w-]+\.[\w-]+\.[\w-]+/g
const bearer = /\b(Bearer|Basic)\s+[\w.~+/=-]+/gi
const REDACTED = "<redacted>"

const scrub = (text: string) => text.replace(jwt, REDACTED).replace(bearer, `$1 ${REDACTED}`)

/** Fields named like a secret lose their value, and strings lose anything shaped like a token, at any depth. */
const redact = (value: unknown, seen = new WeakSet<object>()): unknown => {
  if (typeof value === "string") return scrub(value)
  if (typeof value !== "object" || value === null || seen.has(value)) return value
  seen.add(value)
  if (Array.isArray(value)) return value.map((item) => redact(item, seen))
  if (value instanceof Error || Object.getPrototypeOf(value) !== Object.prototype) return value
  return Object.fromEntries(
    Object.entries(value).map(([key, field]) => [key, secretKey.test(key) ? REDACTED : redact(field, seen)])
  )
}

/**
 * Every line names the trace and span it was written in, so a request's lines join its trace; secrets
 * that slipped into a message or an annotation are masked before anything is written.
 */
const traced = <Output>(logger: Logger.Logger<unknown, Output>) =>
  Logger.mapInputOptions(logger, (options: Logger.Logger.Options<unknown>) => {
    const span = Context.getOption(FiberRefs.getOrDefault(options.context, FiberRef.currentContext), Tracer.ParentSpan)
    let annotations = HashMap.map(options.annotations, (value, key) => (secretKey.test(key) ? REDACTED : redact(value)))
    if (Option.isSome(span)) {
      annotations = HashMap.set(HashMap.set(annotations, "traceId", span.value.traceId), "spanId", span.value.spanId)
    }
    return { ...options, message: redact(options.message), annotations }
  })

const jsonLines = Logger.structuredLogger.pipe(
  traced,
  // A cause's pretty text (with its error messages) is only known here, as text.
  Logger.map((entry) => scrub(Inspectable.stringifyCircular(entry))),
  Logger.withConsoleLog
)

/** JSON lines for machines (LOG_FORMAT=json), a readable format for people; Redacted values print as <redacted>. */
export const LoggerLive = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ logFormat, logLevel }) =>
    Layer.merge(
      Logger.replace(Logger.defaultLogger, logFormat === "json" ? jsonLines : traced(Logger.prettyLoggerDefault)),
      Logger.minimumLogLevel(logLevel)
    )
  )
)
