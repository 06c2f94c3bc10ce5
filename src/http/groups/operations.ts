import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { ServiceUnavailable } from "../../services/errors.js"

export class Liveness extends Schema.Class<Liveness>("Liveness")({ status: Schema.Literal("ok") }) {}

export class ReadinessReport extends Schema.Class<ReadinessReport>("ReadinessReport")({
  status: Schema.Literal("ready"),
  checks: Schema.Record({ key: Schema.String, value: Schema.Literal("up", "down") })
}) {}

export class OperationsGroup extends HttpApiGroup.make("operations")
  .add(
    HttpApiEndpoint.get("live", "/health/live")
      .addSuccess(Liveness)
      .annotate(OpenApi.Description, "200 while the process runs.")
  )
  .add(
    HttpApiEndpoint.get("ready", "/health/ready")
      .addSuccess(ReadinessReport)
      .addError(ServiceUnavailable)
      .annotate(
        OpenApi.Description,
        "200 when every backing service answers, else 503 naming the ones that do not; 503 from the start of shutdown."
      )
  )
  .annotate(OpenApi.Title, "Operations") {}
