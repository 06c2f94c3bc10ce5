import { Schema } from "effect"
import { PageLimit } from "../../services/pagination.js"
import { optionalField, strictRequest } from "../../services/schema.js"

/** The events a webhook may subscribe to: those about a project that still exists afterwards. */
export const WebhookEventType = Schema.Literal("project.updated", "file.uploaded", "file.deleted").annotations({
  message: () => ({ message: "must be one of project.updated, file.uploaded, file.deleted", override: true })
})
export type WebhookEventType = typeof WebhookEventType.Type

export const CreateWebhookRequest = Schema.Struct({
  url: Schema.String.pipe(Schema.maxLength(2048, { message: () => "must be at most 2048 characters" })),
  events: Schema.Array(WebhookEventType).pipe(
    Schema.minItems(1, { message: () => "must name at least one event type" }),
    Schema.maxItems(10)
  )
}).annotations(strictRequest)

export class Webhook extends Schema.Class<Webhook>("Webhook")({
  id: Schema.UUID,
  projectId: Schema.UUID,
  url: Schema.String,
  events: Schema.Array(Schema.String),
  createdAt: Schema.DateTimeUtc
}) {}

/** The signing secret (`whsec_` and base64) appears in this response only; it is stored encrypted. */
export class WebhookCreated extends Schema.Class<WebhookCreated>("WebhookCreated")({
  ...Webhook.fields,
  secret: Schema.String
}) {}

export class WebhookList extends Schema.Class<WebhookList>("WebhookList")({
  items: Schema.Array(Webhook)
}) {}

export const DeliveryStatus = Schema.Literal("pending", "delivered", "failed")

export class Delivery extends Schema.Class<Delivery>("Delivery")({
  id: Schema.UUID,
  webhookId: Schema.UUID,
  eventId: Schema.UUID,
  eventType: Schema.String,
  /** `failed` once every retry is spent (the message is then dead-lettered); a redelivery starts over. */
  status: DeliveryStatus,
  attempts: Schema.Number,
  lastStatusCode: Schema.NullOr(Schema.Number),
  lastError: Schema.NullOr(Schema.String),
  createdAt: Schema.DateTimeUtc,
  lastAttemptAt: Schema.NullOr(Schema.DateTimeUtc),
  deliveredAt: Schema.NullOr(Schema.DateTimeUtc)
}) {}

export class DeliveryPage extends Schema.Class<DeliveryPage>("DeliveryPage")({
  items: Schema.Array(Delivery),
  nextCursor: Schema.NullOr(Schema.String)
}) {}

export const ListDeliveriesParams = Schema.Struct({
  limit: Schema.optionalWith(PageLimit, { default: () => 20, exact: true }),
  cursor: optionalField(Schema.String.pipe(Schema.maxLength(200)))
})

export const ProjectPath = Schema.Struct({ id: Schema.UUID })
export const WebhookPath = Schema.Struct({ id: Schema.UUID, webhookId: Schema.UUID })
export const DeliveryPath = Schema.Struct({ id: Schema.UUID, webhookId: Schema.UUID, deliveryId: Schema.UUID })
