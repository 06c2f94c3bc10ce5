import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Schema } from "effect"
import { createHash } from "node:crypto"

/**
 * Answers a single resource with a strong ETag over its JSON; a matching If-None-Match gets 304 and no body.
 */
export const withEtag = <A, I>(schema: Schema.Schema<A, I>, value: A) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const body = JSON.stringify(yield* Schema.encode(schema)(value).pipe(Effect.orDie))
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`
    const candidates = (request.headers["if-none-match"] ?? "").split(",").map((tag) => tag.trim().replace(/^W\//, ""))
    if (candidates.includes(etag) || candidates.includes("*")) {
      return HttpServerResponse.empty({ status: 304, headers: { etag } })
    }
    return HttpServerResponse.text(body, { contentType: "application/json", headers: { etag } })
  })
