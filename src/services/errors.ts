import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

/**
 * Every error a client can see is an RFC 9457 problem. The classes carry their HTTP status as an
 * annotation, so the HttpApi groups, the RPC groups and the typed clients agree on it; `_tag` travels as
 * an extension member so typed clients decode the error back into its class.
 */
const problemFields = (status: number, slug: string, title: string) => ({
  type: Schema.optionalWith(Schema.String, { default: () => `urn:plinth:problem:${slug}` }),
  title: Schema.optionalWith(Schema.String, { default: () => title }),
  status: Schema.optionalWith(Schema.Number, { default: () => status }),
  detail: Schema.String,
  instance: Schema.optional(Schema.String)
})

export class FieldProblem extends Schema.Class<FieldProblem>("FieldProblem")({
  path: Schema.String,
  message: Schema.String
}) {}

export class ValidationFailed extends Schema.TaggedError<ValidationFailed>()(
  "ValidationFailed",
  { ...problemFields(400, "validation-failed", "Bad Request"), errors: Schema.Array(FieldProblem) },
  HttpApiSchema.annotations({ status: 400 })
) {}

export class MalformedRequest extends Schema.TaggedError<MalformedRequest>()(
  "MalformedRequest",
  problemFields(400, "malformed-request", "Bad Request"),
  HttpApiSchema.annotations({ status: 400 })
) {}

export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  problemFields(401, "unauthorized", "Unauthorized"),
  HttpApiSchema.annotations({ status: 401 })
) {}

export class Forbidden extends Schema.TaggedError<Forbidden>()(
  "Forbidden",
  problemFields(403, "forbidden", "Forbidden"),
  HttpApiSchema.annotations({ status: 403 })
) {}

export class NotFound extends Schema.TaggedError<NotFound>()(
  "NotFound",
  problemFields(404, "not-found", "Not Found"),
  HttpApiSchema.annotations({ status: 404 })
) {}

export class Conflict extends Schema.TaggedError<Conflict>()(
  "Conflict",
  problemFields(409, "conflict", "Conflict"),
  HttpApiSchema.annotations({ status: 409 })
) {}

export class LengthRequired extends Schema.TaggedError<LengthRequired>()(
  "LengthRequired",
  problemFields(411, "length-required", "Length Required"),
  HttpApiSchema.annotations({ status: 411 })
) {}

export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()(
  "PayloadTooLarge",
  { ...problemFields(413, "payload-too-large", "Content Too Large"), limit: Schema.Number },
  HttpApiSchema.annotations({ status: 413 })
) {}

export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()(
  "UnsupportedMediaType",
  problemFields(415, "unsupported-media-type", "Unsupported Media Type"),
  HttpApiSchema.annotations({ status: 415 })
) {}

export class RangeNotSatisfiable extends Schema.TaggedError<RangeNotSatisfiable>()(
  "RangeNotSatisfiable",
  { ...problemFields(416, "range-not-satisfiable", "Range Not Satisfiable"), size: Schema.Number },
  HttpApiSchema.annotations({ status: 416 })
) {}

export class TooManyRequests extends Schema.TaggedError<TooManyRequests>()(
  "TooManyRequests",
  { ...problemFields(429, "too-many-requests", "Too Many Requests"), retryAfter: Schema.Number },
  HttpApiSchema.annotations({ status: 429 })
) {}

export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()(
  "ServiceUnavailable",
  {
    ...problemFields(503, "service-unavailable", "Service Unavailable"),
    retryAfter: Schema.Number,
    unavailable: Schema.optional(Schema.Array(Schema.String))
  },
  HttpApiSchema.annotations({ status: 503 })
) {}

export class InternalError extends Schema.TaggedError<InternalError>()(
  "InternalError",
  problemFields(500, "internal-error", "Internal Server Error"),
  HttpApiSchema.annotations({ status: 500 })
) {}
