import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Schema } from "effect"
import { createHash } from "node:crypto"

/** Whether an If-None-Match header names `etag` (compared weakly, as RFC 9110 asks) or is `*`. */
export const matchesIfNoneMatch = (header: string | undefined, etag: string) => {
  const candidates = (header ?? "").split(",").map((tag) => tag.trim().replace(/^W\//, ""))
  return candidates.includes(etag) || candidates.includes("*")
}

/** Answers a JSON body with a strong ETag over it; a matching If-None-Match gets 304 and no body. */
export const withEtagJson = (body: string) =>
  Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`
    return matchesIfNoneMatch(request.headers["if-none-match"], etag)
      ? HttpServerResponse.empty({ status: 304, headers: { etag } })
      : HttpServerResponse.text(body, { contentType: "application/json", headers: { etag } })
  })

/** A single resource answered as by `withEtagJson`, encoded with its schema first. */
export const withEtag = <A, I>(schema: Schema.Schema<A, I>, value: A) =>
  Effect.flatMap(Schema.encode(schema)(value).pipe(Effect.orDie), (encoded) => withEtagJson(JSON.stringify(encoded)))
