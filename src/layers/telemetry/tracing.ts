import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import { FetchHttpClient } from "@effect/platform"
import { Duration, Effect, Layer, type MetricLabel, Option, Redacted, Tracer } from "effect"
import { AppConfig, type OtlpSettings } from "../config.js"
import { databaseQueryDuration } from "../telemetry.js"

/** `OTEL_EXPORTER_OTLP_HEADERS`: `key=value` pairs separated by commas, values URL-encoded (OpenTelemetry's format). */
const parseHeaders = (headers: Option.Option<Redacted.Redacted>): Record<string, string> =>
  Option.match(headers, {
    onNone: () => ({}),
    onSome: (raw) =>
      Object.fromEntries(
        Redacted.value(raw)
          .split(",")
          .map((pair) => pair.split("="))
          .filter((parts): parts is [string, ...Array<string>] => parts.length >= 2 && parts[0]!.trim() !== "")
          .map(([key, ...value]) => [key.trim(), decodeURIComponent(value.join("=").trim())])
      )
  })

const otlpTracer = (serviceName: string, otlp: OtlpSettings) =>
  OtlpTracer.layer({
    url: `${otlp.endpoint}/v1/traces`,
    resource: { serviceName },
    headers: parseHeaders(otlp.headers),
    exportInterval: Duration.millis(otlp.exportIntervalMillis)
  }).pipe(
    Layer.provide(otlp.protocol === "http/json" ? OtlpSerialization.layerJson : OtlpSerialization.layerProtobuf),
    Layer.provide(FetchHttpClient.layer)
  )

const noLabels: Array<MetricLabel.MetricLabel> = []
const timedSpans = new WeakSet<Tracer.Span>()

/**
 * @effect/sql wraps every statement, on PostgreSQL and PGlite alike, in a `sql.execute` span; timing that
 * span gives the query-duration histogram one definition for both drivers, whichever tracer is in use.
 */
const timeSqlStatements = Layer.unwrapEffect(
  Effect.map(Effect.tracer, (inner) =>
    Layer.setTracer(
      Tracer.make({
        context: inner.context,
        span: (name, parent, context, links, startTime, kind, options) => {
          const span = inner.span(name, parent, context, links, startTime, kind, options)
          // A program launched inside another (tests, embedders) wraps the tracer twice: time each span once.
          if (name !== "sql.execute" || timedSpans.has(span)) return span
          timedSpans.add(span)
          const end = span.end
          return Object.defineProperty(span, "end", {
            configurable: true,
            value: (endTime: bigint, exit: Parameters<Tracer.Span["end"]>[1]) => {
              databaseQueryDuration.unsafeUpdate(Number(endTime - startTime) / 1e9, noLabels)
              end.call(span, endTime, exit)
            }
          })
        }
      })
    )
  )
)

/**
 * Spans go to an OpenTelemetry collector over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise
 * Effect's own tracer keeps them in memory only, for trace ids in logs and queue headers.
 */
export const TracingLive = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ telemetry }) =>
    timeSqlStatements.pipe(
      Layer.provide(
        Option.match(telemetry.otlp, {
          onNone: () => Layer.empty,
          onSome: (otlp) => otlpTracer(telemetry.serviceName, otlp)
        })
      )
    )
  )
)
