import {
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiMiddleware,
  HttpApiSchema,
  HttpApiSecurity,
  OpenApi
} from "@effect/platform"
import { Schema } from "effect"
import { ServiceUnavailable, Unauthorized } from "../../services/errors.js"

export class Liveness extends Schema.Class<Liveness>("Liveness")({ status: Schema.Literal("ok") }) {}

export class ReadinessReport extends Schema.Class<ReadinessReport>("ReadinessReport")({
  status: Schema.Literal("ready"),
  checks: Schema.Record({ key: Schema.String, value: Schema.Literal("up", "down") })
}) {}

/** Lets a scrape through when METRICS_TOKEN is unset or its bearer token matches. */
export class MetricsAuthorization extends HttpApiMiddleware.Tag<MetricsAuthorization>()("app/MetricsAuthorization", {
  failure: Unauthorized,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

export const PrometheusText = Schema.String.pipe(
  HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/plain; version=0.0.4; charset=utf-8" })
)

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
  .add(
    HttpApiEndpoint.get("metrics", "/metrics")
      .addSuccess(PrometheusText)
      .middleware(MetricsAuthorization)
      .annotate(
        OpenApi.Description,
        "This process's metrics in the Prometheus text format; a bearer token is required when METRICS_TOKEN is set."
      )
  )
  .annotate(OpenApi.Title, "Operations") {}
