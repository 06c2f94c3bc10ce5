import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Schema } from "effect"
import { createHash } from "node:crypto"

/** Whether an If-None-Match header names `etag` (compared weakly, as RFC 9110 asks) or is `*`. */
export const matchesIfNoneMatch = (header: string | undefined, etag: string) => {
  const candidates = (header ?? "").split(",").map((tag) => tag.trim().replace(/^W\//, ""))
  return candidates.includes(etag) || candidates.includes("*")
}

/**
 * Answers a single resource with a strong ETag over its JSON; a matching If-None-Match gets 304 and no body.
 */
export const withEtag = <A, I>(schema: Schema.Schema<A, I>, value: A) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const body = JSON.stringify(yield* Schema.encode(schema)(value).pipe(Effect.orDie))
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`
    if (matchesIfNoneMatch(request.headers["if-none-match"], etag)) {
      return HttpServerResponse.empty({ status: 304, headers: { etag } })
    }
    return HttpServerResponse.text(body, { contentType: "application/json", headers: { etag } })
  })
