import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Option, Redacted, Schedule } from "effect"
import { freshPostgresDatabase } from "../support/postgres.js"
import { raw, TestServer } from "../support/server.js"
import { serviceUrl } from "../support/services.js"
import { testSettings } from "../support/settings.js"

const json = (body: unknown, token?: string) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
  body: JSON.stringify(body)
})

/** The value of one series, by its exact name and labels as the exposition writes them. */
const sample = (text: string, series: string) => {
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

const databaseUrl = serviceUrl("TEST_DATABASE_URL")

const scrape = (url: string, headers: Record<string, string> = {}) =>
  Effect.map(raw(`${url}/metrics`, { headers }), (response) => {
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toContain("text/plain; version=0.0.4")
    return response.text
  })

describe("GET /metrics", () => {
  layer(TestServer.layer(), { timeout: "60 seconds", excludeTestServices: true })((it) => {
    it.effect("counts requests by route template, and reports the database, cache, storage, queue and process", () =>
      Effect.gen(function* () {
        const { url } = yield* TestServer
        const registered = yield* raw(
          `${url}/auth/register`,
          json({ email: `metrics-${Date.now()}@example.com`, password: "correct horse battery", name: "M" })
        )
        expect(registered.status).toBe(201)
        const token = (registered.json as { accessToken: string }).accessToken
        const created = yield* raw(`${url}/projects`, json({ name: "Measured" }, token))
        expect(created.status).toBe(201)
        const projectId = (created.json as { id: string }).id
        const auth = { authorization: `Bearer ${token}` }
        for (let i = 0; i < 3; i++)
          expect((yield* raw(`${url}/projects/${projectId}`, { headers: auth })).status).toBe(200)
        const missing = yield* raw(`${url}/projects/00000000-0000-4000-8000-000000000000`, { headers: auth })
        expect(missing.status).toBe(404)
        const upload = yield* raw(`${url}/projects/${projectId}/files?name=a.txt`, {
          method: "POST",
          headers: { ...auth, "content-type": "text/plain" },
          body: "x".repeat(1000)
        })
        expect(upload.status).toBe(201)
        const content = yield* raw(`${url}/files/${(upload.json as { id: string }).id}/content`, { headers: auth })
        expect(content.text).toHaveLength(1000)

        const text = yield* scrape(url)
        const route = (route: string, method: string, status: string) =>
          `{transport="http",route="${route}",method="${method}",status_class="${status}"}`

        expect(sample(text, `plinth_requests_total${route("/projects/:id", "GET", "2xx")}`)).toBe(3)
        expect(sample(text, `plinth_requests_total${route("/projects/:id", "GET", "4xx")}`)).toBe(1)
        expect(sample(text, `plinth_requests_total${route("/auth/register", "POST", "2xx")}`)).toBe(1)
        expect(sample(text, `plinth_request_duration_seconds_count${route("/projects/:id", "GET", "2xx")}`)).toBe(3)
        expect(text).toContain(`plinth_request_duration_seconds_bucket{transport="http",route="/projects/:id"`)
        // Never a raw path or id in a label.
        expect(text).not.toContain(projectId)
        expect(text).not.toContain("00000000-0000-4000-8000-000000000000")

        expect(sample(text, `plinth_db_pool_connections{pool="embedded",state="idle"}`)).toBeGreaterThanOrEqual(0)
        expect(sample(text, `plinth_db_pool_connections{pool="embedded",state="waiting"}`)).toBe(0)
        expect(sample(text, "plinth_db_query_duration_seconds_count")).toBeGreaterThan(5)
        expect(sample(text, `plinth_cache_lookups_total{result="hit"}`)).toBeGreaterThanOrEqual(1)
        expect(sample(text, `plinth_cache_lookups_total{result="miss"}`)).toBeGreaterThanOrEqual(1)
        expect(sample(text, `plinth_storage_bytes_total{direction="in"}`)).toBeGreaterThanOrEqual(1000)
        expect(sample(text, `plinth_storage_bytes_total{direction="out"}`)).toBeGreaterThanOrEqual(1000)
        expect(text).toContain("# TYPE plinth_outbox_lag_seconds gauge")
        for (const name of [
          "process_resident_memory_bytes",
          "nodejs_heap_size_used_bytes",
          "nodejs_eventloop_lag_seconds",
          "nodejs_gc_duration_seconds"
        ]) {
          expect(text).toContain(`# TYPE ${name} `)
        }

        // The relay publishes the registration and the project's creation shortly after they commit.
        const published = yield* Effect.gen(function* () {
          const later = yield* scrape(url)
          const count = sample(later, `plinth_events_published_total{type="project.created"}`)
          if (count === undefined) return yield* Effect.fail("not yet")
          return count
        }).pipe(Effect.retry({ times: 50, schedule: Schedule.spaced("100 millis") }))
        expect(published).toBeGreaterThanOrEqual(1)
      })
    )
  })

  const metricsToken = "scrape-me-please"
  layer(
    TestServer.layer({
      telemetry: { ...testSettings().telemetry, metricsToken: Option.some(Redacted.make(metricsToken)) }
    }),
    { timeout: "60 seconds" }
  )((it) => {
    it.effect("wants the bearer token when METRICS_TOKEN is set", () =>
      Effect.gen(function* () {
        const { url } = yield* TestServer
        const anonymous = yield* raw(`${url}/metrics`)
        expect(anonymous.status).toBe(401)
        expect(anonymous.headers.get("content-type")).toContain("application/problem+json")
        const wrong = yield* raw(`${url}/metrics`, { headers: { authorization: "Bearer nope" } })
        expect(wrong.status).toBe(401)
        const text = yield* scrape(url, { authorization: `Bearer ${metricsToken}` })
        expect(text).toContain("# TYPE plinth_requests_total counter")
      })
    )
  })

  if (databaseUrl !== undefined) {
    const OnPostgres = Layer.unwrapScoped(
      Effect.map(freshPostgresDatabase(databaseUrl), (url) =>
        TestServer.layer({
          databaseUrl: Option.some(Redacted.make(url)),
          databaseReplicaUrl: Option.some(Redacted.make(url)),
          databasePoolMax: 3
        })
      )
    )
    layer(OnPostgres, { timeout: "60 seconds", excludeTestServices: true })((it) => {
      it.effect("reports the PostgreSQL pools of the primary and the replica", () =>
        Effect.gen(function* () {
          const { url } = yield* TestServer
          expect((yield* raw(`${url}/health/ready`)).status).toBe(200)
          const text = yield* scrape(url)
          for (const pool of ["primary", "replica"]) {
            const open =
              (sample(text, `plinth_db_pool_connections{pool="${pool}",state="in_use"}`) ?? -1) +
              (sample(text, `plinth_db_pool_connections{pool="${pool}",state="idle"}`) ?? -1)
            expect(open).toBeGreaterThanOrEqual(1)
            expect(open).toBeLessThanOrEqual(3)
            expect(sample(text, `plinth_db_pool_connections{pool="${pool}",state="waiting"}`)).toBe(0)
          }
          expect(sample(text, "plinth_db_query_duration_seconds_count")).toBeGreaterThan(0)
        })
      )
    })
  }
})
