import { describe, expect, it, layer } from "@effect/vitest"
import { Context, Deferred, Effect, Layer, Option, Redacted, Schedule } from "effect"
import { randomBytes } from "node:crypto"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { AppConfig } from "../../src/layers/config.js"
import { TracingLive } from "../../src/layers/telemetry/tracing.js"
import { raw, TestServer } from "../support/server.js"
import { testSettings } from "../support/settings.js"

interface OtlpValue {
  readonly stringValue?: string
  readonly intValue?: string | number
}

interface ReceivedSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: OtlpValue }>
  readonly links?: ReadonlyArray<{ readonly traceId: string; readonly spanId: string }>
}

interface OtlpTraces {
  readonly resourceSpans: ReadonlyArray<{
    readonly scopeSpans: ReadonlyArray<{ readonly spans: ReadonlyArray<ReceivedSpan> }>
  }>
}

/** A collector in miniature: it accepts OTLP/HTTP JSON exports and keeps every span it is sent. */
const otlpReceiver = Effect.acquireRelease(
  Effect.async<{ readonly endpoint: string; readonly spans: Array<ReceivedSpan>; readonly close: () => void }>(
    (resume) => {
      const spans: Array<ReceivedSpan> = []
      const server = createServer((request, response) => {
        let body = ""
        request.on("data", (chunk: Buffer) => (body += chunk.toString()))
        request.on("end", () => {
          if (request.url === "/v1/traces" && request.headers["content-type"] === "application/json") {
            const traces = JSON.parse(body) as OtlpTraces
            for (const resource of traces.resourceSpans) {
              for (const scope of resource.scopeSpans) spans.push(...scope.spans)
            }
          }
          response.writeHead(200, { "content-type": "application/json" }).end("{}")
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ endpoint: `http://127.0.0.1:${port}`, spans, close: () => server.close() }))
      })
    }
  ),
  (receiver) => Effect.sync(receiver.close)
)

const attribute = (span: ReceivedSpan, key: string) => {
  const value = span.attributes.find((candidate) => candidate.key === key)?.value
  return value?.stringValue ?? (value?.intValue === undefined ? undefined : String(value.intValue))
}

const json = (body: unknown, token?: string) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
  body: JSON.stringify(body)
})

class Receiver extends Context.Tag("test/OtlpReceiver")<
  Receiver,
  { readonly endpoint: string; readonly spans: Array<ReceivedSpan> }
>() {}

const TracedServer = Layer.unwrapEffect(
  Effect.map(Receiver, ({ endpoint }) =>
    TestServer.layer({
      telemetry: {
        ...testSettings().telemetry,
        otlp: Option.some({
          endpoint,
          protocol: "http/json" as const,
          headers: Option.none(),
          exportIntervalMillis: 200
        })
      }
    })
  )
).pipe(Layer.provideMerge(Layer.scoped(Receiver, otlpReceiver)))

describe("traces over OTLP/HTTP", () => {
  layer(TracedServer, { timeout: "60 seconds", excludeTestServices: true })((it) => {
    it.effect("one trace follows a deletion from the request through the outbox and the queue to its consumer", () =>
      Effect.gen(function* () {
        const { url } = yield* TestServer
        const { spans } = yield* Receiver
        const registered = yield* raw(
          `${url}/auth/register`,
          json({ email: `traces-${Date.now()}@example.com`, password: "correct horse battery", name: "T" })
        )
        expect(registered.status).toBe(201)
        const { accessToken, user } = registered.json as { accessToken: string; user: { id: string } }
        const created = yield* raw(`${url}/projects`, json({ name: "Traced" }, accessToken))
        expect(created.status).toBe(201)
        const projectId = (created.json as { id: string }).id
        const upload = yield* raw(`${url}/projects/${projectId}/files?name=a.txt`, {
          method: "POST",
          headers: { authorization: `Bearer ${accessToken}`, "content-type": "text/plain" },
          body: "traced bytes"
        })
        expect(upload.status).toBe(201)
        const deleted = yield* raw(`${url}/projects/${projectId}`, {
          method: "DELETE",
          headers: { authorization: `Bearer ${accessToken}` }
        })
        expect(deleted.status).toBe(204)

        const requestSpan = (method: string, route: string) =>
          spans.find(
            (span) => attribute(span, "http.request.method") === method && attribute(span, "http.route") === route
          )
        // The consumer's span arrives last: wait for it.
        const consumed = yield* Effect.suspend(() => {
          const request = requestSpan("DELETE", "/projects/:id")
          const handled = spans.find(
            (span) =>
              span.name === "Queue.handle" &&
              attribute(span, "consumer") === "storage-purge" &&
              span.traceId === request?.traceId
          )
          return request !== undefined && handled !== undefined
            ? Effect.succeed({ request, handled })
            : Effect.fail("not yet exported")
        }).pipe(Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 150 }))

        const { request, handled } = consumed
        // Exported spans carry no credentials: the bearer header is redacted, bodies are never recorded.
        const exported = JSON.stringify(spans)
        expect(exported).not.toContain(accessToken)
        expect(exported).not.toContain("correct horse battery")
        expect(attribute(request, "enduser.id")).toBe(user.id)
        expect(attribute(request, "http.response.status_code")).toBe("204")

        const byId = new Map(spans.map((span) => [span.spanId, span]))
        const parentOf = (span: ReceivedSpan) =>
          span.parentSpanId === undefined ? undefined : byId.get(span.parentSpanId)
        const ancestry = (span: ReceivedSpan): Array<string> => {
          const parent = parentOf(span)
          return parent === undefined ? [] : [parent.name, ...ancestry(parent)]
        }
        const inTrace = spans.filter((span) => span.traceId === request.traceId)

        // The request's own work: its statements, the outbox insert among them, with placeholders, not values.
        const statements = inTrace.filter((span) => span.name === "sql.execute")
        expect(statements.length).toBeGreaterThan(2)
        const outboxInsert = statements.find((span) =>
          attribute(span, "db.query.text")?.startsWith("insert into outbox")
        )
        expect(outboxInsert).toBeDefined()
        expect(ancestry(outboxInsert!)).toContain("Events.record")
        expect(ancestry(outboxInsert!).at(-1)).toBe(request.name)
        for (const statement of statements) expect(attribute(statement, "db.query.text")).not.toContain(projectId)
        expect(inTrace.filter((span) => ancestry(span).at(-1) === request.name).map((span) => span.name)).toEqual(
          expect.arrayContaining(["Projects.remove", "Cache.delete"])
        )

        // Then the relay's publishing and the consumer's handling, each a child of the step before.
        const consumerParent = parentOf(handled)
        expect(consumerParent?.name).toBe("Queue.publish")
        expect(parentOf(consumerParent!)?.name).toBe("OutboxRelay.publish")
        expect(ancestry(consumerParent!)).toContain("Events.record")
        expect(ancestry(consumerParent!).at(-1)).toBe(request.name)
        const consumerWork = inTrace.filter((span) => ancestry(span).includes("Queue.handle")).map((span) => span.name)
        expect(consumerWork).toEqual(expect.arrayContaining(["EventConsumer.handle", "sql.execute", "Storage.delete"]))

        // The creation's and the upload's requests are traces of their own. Creations are inserted in batches: the
        // batch that wrote this one is a trace of its own too, linked to the creation's span.
        const creation = requestSpan("POST", "/projects")!
        const creationSpan = spans.find((span) => span.name === "Projects.create" && span.traceId === creation.traceId)
        expect(creationSpan).toBeDefined()
        const batch = spans.find(
          (span) =>
            span.name === "Projects.insertBatch" &&
            (span.links ?? []).some((link) => link.traceId === creation.traceId && link.spanId === creationSpan!.spanId)
        )
        expect(batch).toBeDefined()
        expect(attribute(batch!, "batch.size")).toBe("1")
        const batchWork = spans.filter((span) => span.traceId === batch!.traceId).map((span) => span.name)
        expect(batchWork).toEqual(expect.arrayContaining(["sql.execute", "Events.record"]))
        const uploadRequest = requestSpan("POST", "/projects/:id/files")!
        expect(spans.filter((span) => span.traceId === uploadRequest.traceId).map((span) => span.name)).toContain(
          "Storage.put"
        )
      })
    )

    it.effect("continues the trace of a caller that sends W3C trace context, and names the route and status", () =>
      Effect.gen(function* () {
        const { url } = yield* TestServer
        const { spans } = yield* Receiver
        const traceId = randomBytes(16).toString("hex")
        const callerSpanId = randomBytes(8).toString("hex")
        const answered = yield* raw(`${url}/health/live?probe=1`, {
          headers: { traceparent: `00-${traceId}-${callerSpanId}-01`, "user-agent": "trace-test" }
        })
        expect(answered.status).toBe(200)
        const request = yield* Effect.suspend(() =>
          Option.match(Option.fromNullable(spans.find((span) => span.traceId === traceId)), {
            onNone: () => Effect.fail("not yet exported"),
            onSome: Effect.succeed
          })
        ).pipe(Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 100 }))
        expect(request.parentSpanId).toBe(callerSpanId)
        expect(request.name).toBe("http.server GET")
        expect(attribute(request, "http.request.method")).toBe("GET")
        expect(attribute(request, "http.route")).toBe("/health/live")
        expect(attribute(request, "url.path")).toBe("/health/live")
        expect(attribute(request, "user_agent.original")).toBe("trace-test")
        expect(attribute(request, "http.response.status_code")).toBe("200")
      })
    )
  })

  it.live("exports protobuf by default, with the configured headers", () =>
    Effect.gen(function* () {
      const received = yield* Deferred.make<{
        readonly contentType: string | undefined
        readonly apiKey: string | undefined
        readonly body: Buffer
      }>()
      const collector = yield* Effect.acquireRelease(
        Effect.async<{ readonly endpoint: string; readonly close: () => void }>((resume) => {
          const server = createServer((request, response) => {
            const chunks: Array<Buffer> = []
            request.on("data", (chunk: Buffer) => chunks.push(chunk))
            request.on("end", () => {
              Deferred.unsafeDone(
                received,
                Effect.succeed({
                  contentType: request.headers["content-type"],
                  apiKey: request.headers["x-api-key"]?.toString(),
                  body: Buffer.concat(chunks)
                })
              )
              response.writeHead(200).end()
            })
          })
          server.listen(0, "127.0.0.1", () =>
            resume(
              Effect.succeed({
                endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
                close: () => server.close()
              })
            )
          )
        }),
        (collector) => Effect.sync(collector.close)
      )
      const settings = testSettings({
        telemetry: {
          ...testSettings().telemetry,
          otlp: Option.some({
            endpoint: collector.endpoint,
            protocol: "http/protobuf" as const,
            headers: Option.some(Redacted.make("x-api-key=abc%3D")),
            exportIntervalMillis: 50
          })
        }
      })
      const span = yield* Effect.scoped(
        Effect.flatMap(Layer.build(TracingLive.pipe(Layer.provide(Layer.succeed(AppConfig, settings)))), (context) =>
          Effect.currentSpan.pipe(Effect.withSpan("probe.protobuf"), Effect.provide(context))
        )
      )
      const { contentType, apiKey, body } = yield* Deferred.await(received).pipe(Effect.timeout("10 seconds"))
      expect(contentType).toBe("application/x-protobuf")
      expect(apiKey).toBe("abc=")
      expect(body.includes(Buffer.from("probe.protobuf"))).toBe(true)
      expect(body.includes(Buffer.from(span.traceId, "hex"))).toBe(true)
    }).pipe(Effect.scoped)
  )
})
