import { type HttpApp, type HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { createHash } from "node:crypto"

export interface SecurityHeadersOptions {
  /** The server itself speaks TLS. */
  readonly tls: boolean
  /** A proxy in front may terminate TLS and say so in `X-Forwarded-Proto`. */
  readonly trustProxy: boolean
  /** True once shutdown has begun: connections are closed after their response so clients reconnect elsewhere. */
  readonly draining: Effect.Effect<boolean>
}

const HSTS = "max-age=31536000; includeSubDomains"

/** JSON and problem documents load nothing, so nothing is allowed. */
const API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

/**
 * The API reference page inlines its scripts; they are allowed by their hashes, computed from the page itself,
 * so no inline script but those runs; WebAssembly, which Scalar compiles, is allowed on its own
 * (`'wasm-unsafe-eval'` admits no JavaScript eval). Scalar injects its component styles at run time, which only
 * `'unsafe-inline'` admits for styles; scripts stay strict.
 */
const pagePolicy = (scriptHashes: ReadonlyArray<string>) =>
  [
    "default-src 'none'",
    `script-src 'wasm-unsafe-eval' ${scriptHashes.map((hash) => `'sha256-${hash}'`).join(" ")}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'"
  ].join("; ")

const INLINE_SCRIPT = /<script>([\s\S]*?)<\/script>/g

const policies = new WeakMap<Uint8Array, string>()

/** A page is rendered once and served many times, so its policy is computed once per body. */
const policyOf = (response: HttpServerResponse.HttpServerResponse) => {
  const body = response.body
  if (body._tag !== "Uint8Array" || !(body.contentType ?? "").startsWith("text/html")) return API_POLICY
  const known = policies.get(body.body)
  if (known !== undefined) return known
  const html = new TextDecoder().decode(body.body)
  const hashes = [...html.matchAll(INLINE_SCRIPT)].map(([, script]) =>
    createHash("sha256")
      .update(script ?? "")
      .digest("base64")
  )
  const policy = pagePolicy(hashes)
  policies.set(body.body, policy)
  return policy
}

const isHttps = (request: HttpServerRequest.HttpServerRequest, options: SecurityHeadersOptions) =>
  options.tls || (options.trustProxy && request.headers["x-forwarded-proto"]?.split(",")[0]?.trim() === "https")

/** The security headers every response carries, errors and unknown routes included. */
export const securityHeaders =
  (options: SecurityHeadersOptions): HttpApp.PreResponseHandler =>
  (request, response) =>
    Effect.map(options.draining, (draining) =>
      HttpServerResponse.setHeaders(response, {
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "x-frame-options": "DENY",
        "cross-origin-opener-policy": "same-origin",
        "content-security-policy": policyOf(response),
        ...(isHttps(request, options) ? { "strict-transport-security": HSTS } : {}),
        ...(draining ? { connection: "close" } : {})
      })
    )
