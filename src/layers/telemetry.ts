import { Headers, HttpTraceContext } from "@effect/platform"
import {
  Context,
  Effect,
  Metric,
  MetricBoundaries,
  MetricKey,
  MetricLabel,
  Option,
  type Scope,
  type Tracer
} from "effect"

/** Renders every metric of this process in the Prometheus text format, for `GET /metrics`. */
export interface MetricsExpositionShape {
  readonly render: Effect.Effect<string>
}

export class MetricsExposition extends Context.Tag("app/MetricsExposition")<
  MetricsExposition,
  MetricsExpositionShape
>() {}

const seconds = MetricBoundaries.fromIterable([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])

/**
 * One family for every transport: HTTP records `transport="http"` with the route template, RPC records
 * `transport="rpc"` with the procedure's tag as the route and `POST` as the method.
 */
const requestsKey = MetricKey.counter("plinth_requests", {
  description: "Requests answered, by transport, route template, method and status class",
  incremental: true
})
const requestDurationKey = MetricKey.histogram(
  "plinth_request_duration_seconds",
  seconds,
  "Time from a request's arrival to its answer, by transport, route template, method and status class"
)

export interface RequestOutcome {
  readonly transport: "http" | "rpc"
  /** A route template (`/projects/:id`) or a procedure name, never a raw path. */
  readonly route: string
  readonly method: string
  readonly status: number
  readonly durationSeconds: number
}

const statusClass = (status: number) => `${Math.floor(status / 100)}xx`

type RequestMetrics = readonly [Metric.Metric.Counter<number>, Metric.Metric.Histogram<number>]

/**
 * A tagged metric resolves its registry entry on every update; one prebuilt key per label set resolves it
 * once, which keeps recording off the hot path's profile.
 */
const requestMetrics = new Map<string, RequestMetrics>()

const requestMetricsFor = (outcome: RequestOutcome): RequestMetrics => {
  const status = statusClass(outcome.status)
  const id = `${outcome.transport} ${outcome.method} ${status} ${outcome.route}`
  const known = requestMetrics.get(id)
  if (known !== undefined) return known
  const labels = [
    MetricLabel.make("transport", outcome.transport),
    MetricLabel.make("route", outcome.route),
    MetricLabel.make("method", outcome.method),
    MetricLabel.make("status_class", status)
  ]
  const made: RequestMetrics = [
    Metric.fromMetricKey(MetricKey.taggedWithLabels(requestsKey, labels)),
    Metric.fromMetricKey(MetricKey.taggedWithLabels(requestDurationKey, labels))
  ]
  requestMetrics.set(id, made)
  return made
}

const noLabels: Array<MetricLabel.MetricLabel> = []

/** Synchronous, with no registry lookup once a label set is known: it runs once per request on the hot path. */
export const countRequest = (outcome: RequestOutcome) => {
  const [count, duration] = requestMetricsFor(outcome)
  count.unsafeUpdate(1, noLabels)
  duration.unsafeUpdate(outcome.durationSeconds, noLabels)
}

/** Connections of a database pool by `pool` (primary, replica, embedded) and `state` (in_use, idle, waiting). */
const databasePoolConnections = Metric.gauge("plinth_db_pool_connections", {
  description: "Database pool connections in use and idle, and requests waiting for one"
})

/** Statements as the caller sees them: waiting for a connection included. */
export const databaseQueryDuration = Metric.histogram(
  "plinth_db_query_duration_seconds",
  seconds,
  "Duration of SQL statements, waiting for a connection included"
)

/** A metric with labels fixed once, so that updating it never builds a new registry key. */
const labelled = (key: MetricKey.MetricKey.Counter<number>, labels: Readonly<Record<string, string>>) =>
  Metric.fromMetricKey(
    MetricKey.taggedWithLabels(
      key,
      Object.entries(labels).map(([name, value]) => MetricLabel.make(name, value))
    )
  )

const cacheLookupsKey = MetricKey.counter("plinth_cache_lookups", {
  description: "Cache reads, by result (hit, miss)",
  incremental: true
})
export const cacheHits = labelled(cacheLookupsKey, { result: "hit" })
export const cacheMisses = labelled(cacheLookupsKey, { result: "miss" })

/** Cache commands that failed and were served without the cache. */
export const cacheErrors = Metric.counter("plinth_cache_errors", {
  description: "Cache commands that failed; the request went on without the cache",
  incremental: true
})

const storageBytesKey = MetricKey.counter("plinth_storage_bytes", {
  description: "Object bytes written to (in) and read from (out) storage",
  incremental: true
})
export const storageBytesIn = labelled(storageBytesKey, { direction: "in" })
export const storageBytesOut = labelled(storageBytesKey, { direction: "out" })

/**
 * Values that are cheaper to read when scraped than to track on every change (a pool's counts) register a
 * sampler here; the exposition runs them all before it renders. The registry is global, like Effect's
 * metric registry it feeds.
 */
const samplers = new Set<Effect.Effect<void>>()

const sampleOnScrape = (sample: Effect.Effect<void>): Effect.Effect<void, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => samplers.add(sample)),
    () => Effect.sync(() => samplers.delete(sample))
  )

export interface PoolUsage {
  readonly inUse: number
  readonly idle: number
  readonly waiting: number
}

/** Reports a database pool's connections under `pool` whenever metrics are scraped. */
export const samplePoolOnScrape = (pool: string, usage: () => PoolUsage) => {
  const gauge = (state: string) =>
    databasePoolConnections.pipe(Metric.tagged("pool", pool), Metric.tagged("state", state))
  const [inUse, idle, waiting] = [gauge("in_use"), gauge("idle"), gauge("waiting")]
  return sampleOnScrape(
    Effect.suspend(() => {
      const now = usage()
      return Effect.all([Metric.set(inUse, now.inUse), Metric.set(idle, now.idle), Metric.set(waiting, now.waiting)], {
        discard: true
      })
    })
  )
}

export const runSamplers = Effect.suspend(() => Effect.all([...samplers], { discard: true }))

/** The W3C `traceparent` of the current span, to carry trace context across a queue or the outbox. */
export const currentTraceparent: Effect.Effect<Option.Option<string>> = Effect.map(
  Effect.option(Effect.currentSpan),
  Option.flatMap((span) => Option.fromNullable(HttpTraceContext.toHeaders(span)["traceparent"]))
)

/** The span a `traceparent` names, to parent the work that continues a trace elsewhere. */
export const parentFromTraceparent = (traceparent: string | undefined): Option.Option<Tracer.ExternalSpan> =>
  traceparent === undefined ? Option.none() : HttpTraceContext.w3c(Headers.unsafeFromRecord({ traceparent }))

/** Span options that continue the trace named by a message's `traceparent`, or start a trace of its own. */
export const continueTrace = (
  traceparent: string | undefined
): { readonly parent: Tracer.AnySpan } | { readonly root: true } =>
  Option.match(parentFromTraceparent(traceparent), {
    onNone: () => ({ root: true as const }),
    onSome: (parent) => ({ parent })
  })

/** `headers` plus the current span's `traceparent`, so the consumer's work joins the publisher's trace. */
export const withTraceparent = (headers: Readonly<Record<string, string>> | undefined) =>
  Effect.map(
    currentTraceparent,
    Option.match({
      onNone: () => ({ ...headers }),
      onSome: (traceparent): Record<string, string> => ({ ...headers, traceparent })
    })
  )
