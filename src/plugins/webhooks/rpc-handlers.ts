import { Effect } from "effect"
import { authorized } from "./permissions.js"
import { WebhooksRpcs } from "./rpc-group.js"
import { Webhooks } from "./webhooks.js"

export const WebhooksRpcHandlers = WebhooksRpcs.toLayer(
  Effect.map(Webhooks, (webhooks) =>
    WebhooksRpcs.of({
      "webhooks.create": ({ projectId, ...input }) =>
        Effect.flatMap(authorized, (actor) => webhooks.create(actor, projectId, input)),
      "webhooks.list": ({ projectId }) => Effect.flatMap(authorized, (actor) => webhooks.list(actor, projectId)),
      "webhooks.remove": ({ projectId, webhookId }) =>
        Effect.flatMap(authorized, (actor) => webhooks.remove(actor, projectId, webhookId)),
      "webhooks.deliveries": ({ projectId, webhookId, ...page }) =>
        Effect.flatMap(authorized, (actor) => webhooks.deliveries(actor, projectId, webhookId, page)),
      "webhooks.redeliver": ({ projectId, webhookId, deliveryId }) =>
        Effect.flatMap(authorized, (actor) => webhooks.redeliver(actor, projectId, webhookId, deliveryId))
    })
  )
)
