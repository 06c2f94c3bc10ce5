import { Effect, Layer } from "effect"
import { MetricsExposition, runSamplers } from "../telemetry.js"

/**
 * The exporters are loaded at the first scrape, not at start-up: they are a megabyte of code that a process nobody
 * scrapes never needs, and start-up time is what rolling deploys wait for.
 */
const loadExporters = Effect.gen(function* () {
  const [{ PrometheusSerializer }, { collectDefaultMetrics, Registry }, Metrics, Resource] = yield* Effect.promise(() =>
    Promise.all([
      import("@opentelemetry/exporter-prometheus"),
      import("prom-client"),
      import("@effect/opentelemetry/Metrics"),
      import("@effect/opentelemetry/Resource")
    ])
  )
  const process = new Registry()
  collectDefaultMetrics({ register: process })
  return {
    producer: yield* Effect.provide(Metrics.makeProducer, Resource.layerEmpty),
    process,
    // Without target_info and otel_scope_* labels: every series here is this process's own.
    serializer: new PrometheusSerializer(undefined, false, undefined, true, true)
  }
})

/**
 * Effect's metric registry, read through @effect/opentelemetry's producer and written by OpenTelemetry's
 * Prometheus serializer, followed by prom-client's standard Node.js process metrics (event loop lag, heap, RSS, GC).
 */
export const MetricsExpositionPrometheus = Layer.effect(
  MetricsExposition,
  Effect.map(Effect.cached(loadExporters), (exporters) =>
    MetricsExposition.of({
      render: Effect.gen(function* () {
        const { producer, process, serializer } = yield* exporters
        yield* runSamplers
        const [{ resourceMetrics }, processText] = yield* Effect.promise(() =>
          Promise.all([producer.collect(), process.metrics()])
        )
        return `${processText.trimEnd()}\n${serializer.serialize(resourceMetrics)}`
      }).pipe(Effect.withSpan("MetricsExposition.render"))
    })
  )
)
