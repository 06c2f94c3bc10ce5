import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Forbidden, NotFound, ServiceUnavailable } from "../../services/errors.js"
import { DeadLetterView } from "../../services/events/schema.js"
import { Authentication } from "./identity.js"

const Consumer = Schema.String.pipe(Schema.pattern(/^[a-z0-9][a-z0-9._-]{0,99}$/))

export class DeadLetterList extends Schema.Class<DeadLetterList>("DeadLetterList")({
  items: Schema.Array(DeadLetterView)
}) {}

export class DeadLettersGroup extends HttpApiGroup.make("deadLetters")
  .add(
    HttpApiEndpoint.get("list", "/admin/dead-letters")
      .setUrlParams(Schema.Struct({ consumer: Schema.optionalWith(Consumer, { exact: true }) }))
      .addSuccess(DeadLetterList)
      .annotate(
        OpenApi.Description,
        "Events that failed every attempt, oldest first; all consumers unless one is named."
      )
  )
  .add(
    HttpApiEndpoint.post("replay", "/admin/dead-letters/:id/replay")
      .setPath(Schema.Struct({ id: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100)) }))
      .addSuccess(HttpApiSchema.NoContent)
      .addError(NotFound)
      .annotate(OpenApi.Description, "Sends the event back to the consumer it failed in, with a fresh attempt count.")
  )
  .addError(Forbidden)
  .addError(ServiceUnavailable)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Dead letters") {}
