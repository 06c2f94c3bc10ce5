import * as Metrics from "@effect/opentelemetry/Metrics"
import * as Resource from "@effect/opentelemetry/Resource"
import { PrometheusSerializer } from "@opentelemetry/exporter-prometheus"
import { Effect, Layer } from "effect"
import { collectDefaultMetrics, Registry } from "prom-client"
import { MetricsExposition, runSamplers } from "../telemetry.js"

/** Node's own figures (event loop lag, heap, RSS, GC) are per process, so one collector serves every server in it. */
let processMetrics: Registry | undefined
const processRegistry = () => {
  if (processMetrics === undefined) {
    processMetrics = new Registry()
    collectDefaultMetrics({ register: processMetrics })
  }
  return processMetrics
}

/**
 * Effect's metric registry, read through @effect/opentelemetry's producer and written by OpenTelemetry's
 * Prometheus serializer, followed by prom-client's standard Node.js process metrics.
 */
export const MetricsExpositionPrometheus = Layer.effect(
  MetricsExposition,
  Effect.gen(function* () {
    const producer = yield* Metrics.makeProducer
    const process = processRegistry()
    // Without target_info and otel_scope_* labels: every series here is this process's own.
    const serializer = new PrometheusSerializer(undefined, false, undefined, true, true)
    return MetricsExposition.of({
      render: Effect.gen(function* () {
        yield* runSamplers
        const [{ resourceMetrics }, processText] = yield* Effect.promise(() =>
          Promise.all([producer.collect(), process.metrics()])
        )
        return `${processText.trimEnd()}\n${serializer.serialize(resourceMetrics)}`
      }).pipe(Effect.withSpan("MetricsExposition.render"))
    })
  })
).pipe(Layer.provide(Resource.layerEmpty))
