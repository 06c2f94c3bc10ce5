import { HttpApiBuilder, HttpApp, type HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServerRequest, NodeStream } from "@effect/platform-node"
import { Effect, Option } from "effect"
import type { ByteRange } from "../../layers/storage.js"
import { MalformedRequest, RangeNotSatisfiable } from "../../services/errors.js"
import { CurrentUser } from "../../services/identity/current-user.js"
import { ProjectFile } from "../../services/projects/file-schema.js"
import { Files } from "../../services/projects/files.js"
import { baseApi } from "../api.js"
import { matchesIfNoneMatch, withEtag } from "../etag.js"
import { FilesGroup } from "../groups/files.js"
import { problemResponse } from "../middleware/problems.js"

const CACHE_CONTROL = "private, max-age=300"

/**
 * The request body as it arrives, never buffered whole. `closeOnDone: false` because the platform's own
 * `request.stream` destroys the request when its reader stops early, which resets the connection before a 413
 * can be sent; left alone, Node discards the unread rest once the response is out.
 */
const requestBody = (request: HttpServerRequest.HttpServerRequest) =>
  NodeStream.fromReadable(
    () => NodeHttpServerRequest.toIncomingMessage(request),
    () => new MalformedRequest({ detail: "The upload ended before its body was complete" }),
    { closeOnDone: false }
  )

const declaredLength = (request: HttpServerRequest.HttpServerRequest) => {
  const length = Number(request.headers["content-length"] ?? Number.NaN)
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined
}

/**
 * A single `bytes` range resolved against `size`. None when there is no Range, or one to ignore (several ranges,
 * another unit, bad syntax, an If-Range that no longer matches), which RFC 9110 answers with the whole file.
 */
const requestedRange = (
  request: HttpServerRequest.HttpServerRequest,
  etag: string,
  size: number
): Option.Option<ByteRange> | "unsatisfiable" => {
  const header = request.headers["range"]
  const ifRange = request.headers["if-range"]
  if (header === undefined || (ifRange !== undefined && ifRange.trim() !== etag)) return Option.none()
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (match === null) return Option.none()
  const [, first = "", last = ""] = match
  if (first === "") {
    if (last === "") return Option.none()
    const suffix = Number(last)
    return suffix === 0 || size === 0
      ? "unsatisfiable"
      : Option.some({ start: Math.max(0, size - suffix), end: size - 1 })
  }
  const start = Number(first)
  const end = last === "" ? Number.MAX_SAFE_INTEGER : Number(last)
  if (end < start) return Option.none()
  return start >= size ? "unsatisfiable" : Option.some({ start, end: Math.min(end, size - 1) })
}

/** The name as a download's file name: a plain ASCII fallback and the exact name per RFC 6266 / RFC 8187. */
const contentDisposition = (name: string) => {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, "_")
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`
}

/**
 * An upload refused before its body was read to the end leaves the rest of it in the connection, where the next
 * request would be read from; closing the connection after the answer tells the client not to reuse it.
 */
const closeIfBodyUnread = (request: HttpServerRequest.HttpServerRequest) =>
  HttpApp.appendPreResponseHandler((_, response) =>
    Effect.sync(() =>
      NodeHttpServerRequest.toIncomingMessage(request).complete
        ? response
        : HttpServerResponse.setHeader(response, "connection", "close")
    )
  )

export const FilesHandlers = HttpApiBuilder.group(baseApi.add(FilesGroup), "files", (handlers) =>
  Effect.gen(function* () {
    const files = yield* Files
    return handlers
      .handleRaw("upload", ({ path, urlParams, headers, request }) =>
        Effect.zipRight(
          closeIfBodyUnread(request),
          Effect.flatMap(CurrentUser, (actor) =>
            files.upload(actor, path.id, {
              name: urlParams.name,
              contentType: headers["content-type"],
              declaredSize: declaredLength(request),
              body: requestBody(request)
            })
          )
        )
      )
      .handle("list", ({ path, urlParams }) =>
        Effect.flatMap(CurrentUser, (actor) => files.list(actor, path.id, urlParams))
      )
      .handle("get", ({ path }) =>
        Effect.flatMap(CurrentUser, (actor) =>
          Effect.flatMap(files.get(actor, path.id), (file) => withEtag(ProjectFile, file))
        )
      )
      .handleRaw("content", ({ path, request }) =>
        Effect.gen(function* () {
          const download = yield* files.download(yield* CurrentUser, path.id)
          const { file } = download
          const etag = `"${file.sha256}"`
          const cached = { etag, "cache-control": CACHE_CONTROL }
          if (matchesIfNoneMatch(request.headers["if-none-match"], etag)) {
            return HttpServerResponse.empty({ status: 304, headers: cached })
          }
          const url = yield* download.redirect
          if (Option.isSome(url)) {
            return HttpServerResponse.empty({
              status: 302,
              headers: { location: url.value, "cache-control": "private, no-store" }
            })
          }
          const range = requestedRange(request, etag, file.size)
          if (range === "unsatisfiable") {
            return yield* new RangeNotSatisfiable({
              detail: `The file has ${file.size} bytes; no byte of the range exists`,
              size: file.size
            })
          }
          const content = yield* download.read(Option.getOrUndefined(range))
          const headers = {
            ...cached,
            "accept-ranges": "bytes",
            "content-disposition": contentDisposition(file.name),
            "x-content-type-options": "nosniff"
          }
          // Content-Length as a header: the platform drops a `contentLength` of 0, and an empty file has one.
          return Option.match(content.range, {
            onNone: () =>
              HttpServerResponse.stream(content.body, {
                contentType: file.contentType,
                headers: { ...headers, "content-length": String(file.size) }
              }),
            onSome: ({ start, end }) =>
              HttpServerResponse.stream(content.body, {
                status: 206,
                contentType: file.contentType,
                headers: {
                  ...headers,
                  "content-length": String(end - start + 1),
                  "content-range": `bytes ${start}-${end}/${file.size}`
                }
              })
          })
        }).pipe(
          Effect.catchTag("RangeNotSatisfiable", (problem) =>
            Effect.succeed(
              HttpServerResponse.setHeader(
                problemResponse(problem, new URL(request.url, "http://plinth").pathname),
                "content-range",
                `bytes */${problem.size}`
              )
            )
          )
        )
      )
      .handle("delete", ({ path }) => Effect.flatMap(CurrentUser, (actor) => files.remove(actor, path.id)))
  })
)
