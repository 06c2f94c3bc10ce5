import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

export class EmailTaken extends Schema.TaggedError<EmailTaken>()(
  "EmailTaken",
  {
    type: Schema.optionalWith(Schema.String, { default: () => "urn:plinth:problem:email-taken" }),
    title: Schema.optionalWith(Schema.String, { default: () => "Conflict" }),
    status: Schema.optionalWith(Schema.Number, { default: () => 409 }),
    detail: Schema.optionalWith(Schema.String, { default: () => "An account with this email already exists" }),
    instance: Schema.optional(Schema.String)
  },
  HttpApiSchema.annotations({ status: 409 })
) {}
