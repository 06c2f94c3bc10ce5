import type { HttpServerRequest } from "@effect/platform"
import { Option } from "effect"
import { LengthRequired, PayloadTooLarge, UnsupportedMediaType } from "../../services/errors.js"

const isJsonLike = (contentType: string) =>
  /^application\/([\w.+-]+\+)?json\b|^application\/x-www-form-urlencoded\b|^text\//i.test(contentType)

/**
 * The platform reads JSON bodies whole and without a limit, so the limit is enforced from the declared
 * length before anything is read; a JSON body without a declared length cannot be bounded and is refused.
 */
export const checkJsonBodyLimit = (
  request: HttpServerRequest.HttpServerRequest,
  limit: number
): Option.Option<LengthRequired | PayloadTooLarge> =>
  isJsonLike(request.headers["content-type"] ?? "") ? checkBodyLimit(request, limit) : Option.none()

/** The same rule for any body read whole: its declared length must be within `limit`. */
export const checkBodyLimit = (
  request: HttpServerRequest.HttpServerRequest,
  limit: number
): Option.Option<LengthRequired | PayloadTooLarge> => {
  const declared = request.headers["content-length"]
  if (declared === undefined) {
    return request.headers["transfer-encoding"] === undefined
      ? Option.none()
      : Option.some(new LengthRequired({ detail: "The body must declare its Content-Length" }))
  }
  const length = Number(declared)
  if (!Number.isSafeInteger(length) || length < 0) {
    return Option.some(new LengthRequired({ detail: "Content-Length is not a valid length" }))
  }
  return length > limit
    ? Option.some(new PayloadTooLarge({ detail: `The body exceeds the limit of ${limit} bytes`, limit }))
    : Option.none()
}

const isForm = (contentType: string) =>
  /^(multipart\/form-data|application\/x-www-form-urlencoded)\b/i.test(contentType)

/**
 * No endpoint takes a form: JSON bodies are JSON and uploads are raw bytes. Left alone, the platform would parse a
 * form as the payload of any JSON endpoint (a multipart one into temporary files, past the JSON limit) and answer a
 * malformed multipart body with a 500.
 */
export const checkContentType = (request: HttpServerRequest.HttpServerRequest): Option.Option<UnsupportedMediaType> =>
  isForm(request.headers["content-type"] ?? "")
    ? Option.some(new UnsupportedMediaType({ detail: "Send the body as application/json" }))
    : Option.none()
