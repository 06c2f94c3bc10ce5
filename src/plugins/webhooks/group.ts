import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Authentication } from "../../http/groups/identity.js"
import { Forbidden, NotFound, ValidationFailed } from "../../services/errors.js"
import {
  CreateWebhookRequest,
  Delivery,
  DeliveryPage,
  DeliveryPath,
  ListDeliveriesParams,
  ProjectPath,
  WebhookCreated,
  WebhookList,
  WebhookPath
} from "./schema.js"

export class WebhooksGroup extends HttpApiGroup.make("webhooks")
  .add(
    HttpApiEndpoint.post("create", "/projects/:id/webhooks")
      .setPath(ProjectPath)
      .setPayload(CreateWebhookRequest)
      .addSuccess(WebhookCreated, { status: 201 })
      .annotate(
        OpenApi.Description,
        "Registers an https endpoint for the project's events. The signing secret is in this response only."
      )
  )
  .add(HttpApiEndpoint.get("list", "/projects/:id/webhooks").setPath(ProjectPath).addSuccess(WebhookList))
  .add(
    HttpApiEndpoint.del("remove", "/projects/:id/webhooks/:webhookId")
      .setPath(WebhookPath)
      .addSuccess(HttpApiSchema.NoContent)
  )
  .add(
    HttpApiEndpoint.get("deliveries", "/projects/:id/webhooks/:webhookId/deliveries")
      .setPath(WebhookPath)
      .setUrlParams(ListDeliveriesParams)
      .addSuccess(DeliveryPage)
      .annotate(OpenApi.Description, "The endpoint's deliveries, newest first.")
  )
  .add(
    HttpApiEndpoint.post("redeliver", "/projects/:id/webhooks/:webhookId/deliveries/:deliveryId/redeliver")
      .setPath(DeliveryPath)
      .addSuccess(Delivery, { status: 202 })
      .annotate(OpenApi.Description, "Sends the delivery again, with a fresh round of retries.")
  )
  .addError(Forbidden)
  .addError(NotFound)
  .addError(ValidationFailed)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Webhooks (plugin)") {}
