import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { baseApi } from "../../http/api.js"
import { WebhooksGroup } from "./group.js"
import { authorized } from "./permissions.js"
import { Webhooks } from "./webhooks.js"

export const WebhooksHandlers = HttpApiBuilder.group(baseApi.add(WebhooksGroup), "webhooks", (handlers) =>
  Effect.gen(function* () {
    const webhooks = yield* Webhooks
    return handlers
      .handle("create", ({ path, payload }) =>
        Effect.flatMap(authorized, (actor) => webhooks.create(actor, path.id, payload))
      )
      .handle("list", ({ path }) => Effect.flatMap(authorized, (actor) => webhooks.list(actor, path.id)))
      .handle("remove", ({ path }) =>
        Effect.flatMap(authorized, (actor) => webhooks.remove(actor, path.id, path.webhookId))
      )
      .handle("deliveries", ({ path, urlParams }) =>
        Effect.flatMap(authorized, (actor) => webhooks.deliveries(actor, path.id, path.webhookId, urlParams))
      )
      .handle("redeliver", ({ path }) =>
        Effect.flatMap(authorized, (actor) => webhooks.redeliver(actor, path.id, path.webhookId, path.deliveryId))
      )
  })
)
