import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { request } from "node:https"
import { connect as connectTcp } from "node:net"
import { connect as connectTls } from "node:tls"
import { raw, TestServer } from "../support/server.js"
import { issueCertificates } from "../support/certificates.js"

const APP = "https://app.example.com"

const limits = { headersTimeoutMillis: 1000, requestTimeoutMillis: 3000, maxHeaderBytes: 8 * 1024 }

/** Writes `chunks` to a raw TCP connection and collects everything the server sends until it closes. */
const rawExchange = (port: number, first: string, then?: string) =>
  Effect.async<{ readonly reply: string; readonly closedAfterMs: number }>((resume) => {
    const started = Date.now()
    let reply = ""
    const socket = connectTcp(port, "127.0.0.1", () => {
      socket.write(first)
      if (then !== undefined) setTimeout(() => socket.writable && socket.write(then), 5000).unref()
    })
    socket.on("data", (chunk) => (reply += chunk.toString()))
    socket.on("error", () => undefined)
    socket.on("close", () => resume(Effect.succeed({ reply, closedAfterMs: Date.now() - started })))
    return Effect.sync(() => socket.destroy())
  })

const header = (headers: Headers, name: string) => headers.get(name) ?? undefined

describe("Hardened HTTP", () => {
  layer(TestServer.layer({ corsOrigins: [APP, "http://localhost:5173"], trustProxy: true, httpLimits: limits }), {
    timeout: "60 seconds",
    excludeTestServices: true
  })((it) => {
    it.effect("sets the security headers on successes, problems and unknown routes, without HSTS on plain HTTP", () =>
      Effect.gen(function* () {
        const { url } = yield* TestServer
        const responses = yield* Effect.all([
          raw(`${url}/health/live`),
          raw(`${url}/no/such/route`),
          raw(`${url}/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: "{" })
        ])
        expect(responses.map((r) => r.status)).toEqual([200, 404, 400])
        for (const { headers } of responses) {
          expect(header(headers, "x-content-type-options")).toBe("nosniff")
          expect(header(headers, "referrer-policy")).toBe("no-referrer")
          expect(header(headers, "x-frame-options")).toBe("DENY")
          expect(header(headers, "content-security-policy")).toBe(
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
          )
          expect(header(headers, "strict-transport-security")).toBeUndefined()
        }
        const proxied = yield* raw(`${url}/health/live`, { headers: { "x-forwarded-proto": "https" } })
        expect(header(proxied.headers, "strict-transport-security")).toBe("max-age=31536000; includeSubDomains")
      })
    )

    it.effect("lets /docs run exactly its own inline scripts, by hash, and nothing inline besides", () =>
      Effect.gen(function* () {
        const { url } = yield* TestServer
        const docs = yield* raw(`${url}/docs`)
        expect(docs.status).toBe(200)
        const policy = header(docs.headers, "content-security-policy") ?? ""
        const scriptSrc = policy.split("; ").find((directive) => directive.startsWith("script-src ")) ?? ""
        const inline = [...docs.text.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
          ([, script]) =>
            `'sha256-${createHash("sha256")
              .update(script ?? "")
              .digest("base64")}'`
        )
        expect(inline.length).toBe(2)
        expect(scriptSrc.split(" ").slice(1).sort()).toEqual(["'wasm-unsafe-eval'", ...inline].sort())
        expect(policy).toContain("default-src 'none'")
        expect(policy).toContain("frame-ancestors 'none'")
        expect(docs.text).toContain('"withDefaultFonts":false')
      })
    )

    it.effect("answers CORS for listed origins only, preflights included", () =>
      Effect.gen(function* () {
        const { url } = yield* TestServer
        const allowed = yield* raw(`${url}/health/live`, { headers: { origin: APP } })
        expect(header(allowed.headers, "access-control-allow-origin")).toBe(APP)
        expect(header(allowed.headers, "access-control-expose-headers")).toContain("etag")
        expect(header(allowed.headers, "vary")).toContain("Origin")

        const preflight = yield* raw(`${url}/projects`, {
          method: "OPTIONS",
          headers: {
            origin: APP,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type"
          }
        })
        expect(preflight.status).toBe(204)
        expect(header(preflight.headers, "access-control-allow-origin")).toBe(APP)
        expect(header(preflight.headers, "access-control-allow-methods")).toContain("POST")
        expect(header(preflight.headers, "access-control-allow-headers")).toContain("authorization")
        expect(header(preflight.headers, "access-control-max-age")).toBe("600")

        for (const origin of ["https://evil.example.com", "https://app.example.com.evil.net", "null"]) {
          for (const init of [
            { headers: { origin } },
            { method: "OPTIONS", headers: { origin, "access-control-request-method": "DELETE" } }
          ]) {
            const refused = yield* raw(`${url}/health/live`, init)
            expect([...refused.headers.keys()].filter((name) => name.startsWith("access-control-"))).toEqual([])
            expect(header(refused.headers, "vary")).toContain("Origin")
          }
        }
      })
    )

    it.effect("refuses oversized headers with 431 and cuts clients that send headers or bodies too slowly", () =>
      Effect.gen(function* () {
        const { settings } = yield* TestServer
        const port = settings.port
        const big = yield* rawExchange(
          port,
          `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Filler: ${"a".repeat(10 * 1024)}\r\n\r\n`
        )
        expect(big.reply).toMatch(/^HTTP\/1\.1 431 /)

        const [slowHeaders, slowBody] = yield* Effect.all(
          [
            rawExchange(port, "GET /health/live HTTP/1.1\r\nHost: x\r\n", "\r\n"),
            rawExchange(
              port,
              "POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{",
              "}"
            )
          ],
          { concurrency: "unbounded" }
        )
        expect(slowHeaders.reply).toMatch(/^HTTP\/1\.1 408 /)
        expect(slowHeaders.closedAfterMs).toBeLessThan(3000)
        expect(slowBody.reply).toMatch(/^HTTP\/1\.1 408 /)
        expect(slowBody.closedAfterMs).toBeGreaterThanOrEqual(2900)
        expect(slowBody.closedAfterMs).toBeLessThan(5000)
      })
    )
  })
})

const certificates = issueCertificates()
const tlsFiles = { certFile: certificates.certFile, keyFile: certificates.keyFile }
const ca = readFileSync(certificates.caFile)

const handshake = (port: number, version: "TLSv1.2" | "TLSv1.3") =>
  Effect.async<string>((resume) => {
    const socket = connectTls({ host: "127.0.0.1", port, ca, minVersion: version, maxVersion: version }, () => {
      resume(Effect.succeed(`connected with ${socket.getProtocol()}`))
      socket.end()
    })
    socket.on("error", (error) => resume(Effect.succeed(`refused: ${error.message}`)))
  })

const httpsGet = (port: number, path: string) =>
  Effect.async<{ readonly status: number; readonly hsts: string | undefined; readonly body: string }>((resume) => {
    const req = request({ host: "127.0.0.1", port, path, ca }, (res) => {
      let body = ""
      res.on("data", (chunk: Buffer) => (body += chunk.toString()))
      res.on("end", () => {
        const hsts = res.headers["strict-transport-security"]
        resume(Effect.succeed({ status: res.statusCode ?? 0, hsts: typeof hsts === "string" ? hsts : undefined, body }))
      })
    })
    req.on("error", (error) => resume(Effect.die(error)))
    req.end()
  })

describe("HTTPS", () => {
  layer(TestServer.layer({ tls: Option.some(tlsFiles) }).pipe(Layer.orDie), {
    timeout: "60 seconds",
    excludeTestServices: true
  })((it) => {
    it.effect("serves TLS 1.3 with HSTS and refuses TLS 1.2 handshakes", () =>
      Effect.gen(function* () {
        const { settings } = yield* TestServer
        expect(yield* handshake(settings.port, "TLSv1.3")).toBe("connected with TLSv1.3")
        expect(yield* handshake(settings.port, "TLSv1.2")).toMatch(/^refused: .*(protocol version|alert)/i)
        const live = yield* httpsGet(settings.port, "/health/live")
        expect(live.status).toBe(200)
        expect(JSON.parse(live.body)).toEqual({ status: "ok" })
        expect(live.hsts).toBe("max-age=31536000; includeSubDomains")
      })
    )
  })
})
