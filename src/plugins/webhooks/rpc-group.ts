import { Rpc, RpcGroup } from "@effect/rpc"
import { Schema } from "effect"
import { RpcAuthentication, RpcObservability } from "../../rpc/groups/middleware.js"
import { Forbidden, NotFound, ValidationFailed } from "../../services/errors.js"
import { strictRequest } from "../../services/schema.js"
import {
  CreateWebhookRequest,
  Delivery,
  DeliveryPage,
  ListDeliveriesParams,
  WebhookCreated,
  WebhookList
} from "./schema.js"

const OfProject = { projectId: Schema.UUID }
const OfWebhook = { ...OfProject, webhookId: Schema.UUID }

/** The same operations as the plugin's `WebhooksGroup`; served, and in clients' types, only with the plugin on. */
export class WebhooksRpcs extends RpcGroup.make(
  /** Registers an https endpoint for the project's events. The signing secret is in this answer only. */
  Rpc.make("webhooks.create", {
    payload: Schema.Struct({ ...OfProject, ...CreateWebhookRequest.fields }).annotations(strictRequest),
    success: WebhookCreated,
    error: Schema.Union(Forbidden, NotFound, ValidationFailed)
  }),
  Rpc.make("webhooks.list", {
    payload: Schema.Struct(OfProject).annotations(strictRequest),
    success: WebhookList,
    error: Schema.Union(Forbidden, NotFound)
  }),
  Rpc.make("webhooks.remove", {
    payload: Schema.Struct(OfWebhook).annotations(strictRequest),
    error: Schema.Union(Forbidden, NotFound)
  }),
  /** The endpoint's deliveries, newest first. */
  Rpc.make("webhooks.deliveries", {
    payload: Schema.Struct({ ...OfWebhook, ...ListDeliveriesParams.fields }).annotations(strictRequest),
    success: DeliveryPage,
    error: Schema.Union(Forbidden, NotFound, ValidationFailed)
  }),
  /** Sends the delivery again, with a fresh round of retries. */
  Rpc.make("webhooks.redeliver", {
    payload: Schema.Struct({ ...OfWebhook, deliveryId: Schema.UUID }).annotations(strictRequest),
    success: Delivery,
    error: Schema.Union(Forbidden, NotFound)
  })
)
  .middleware(RpcAuthentication)
  .middleware(RpcObservability) {}
