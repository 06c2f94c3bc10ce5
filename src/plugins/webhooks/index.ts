import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { Projects } from "../../services/projects/projects.js"
import { Authenticated, RpcAuthenticated } from "../core/identity.js"
import { definePlugin } from "../module.js"
import { makeDeliveryConsumer, WebhookFanout } from "./consumers.js"
import { WebhooksGroup } from "./group.js"
import { WebhooksHandlers } from "./handlers.js"
import { webhooksMigrations } from "./migrations.js"
import { manageWebhooks } from "./permissions.js"
import { WebhooksRpcs } from "./rpc-group.js"
import { WebhooksRpcHandlers } from "./rpc-handlers.js"
import { webhooksConfig } from "./settings.js"
import { Webhooks } from "./webhooks.js"

/** Signed deliveries of a project's events to the endpoints its owner registers. */
export const WebhooksPlugin = definePlugin({
  name: "webhooks",
  version: "1.0.0",
  config: webhooksConfig,
  make: (settings) => {
    const services = Webhooks.make(settings).pipe(Layer.provide(Projects.layer))
    return {
      migrations: webhooksMigrations,
      groups: [WebhooksGroup],
      http: WebhooksHandlers.pipe(Layer.provide(services), Layer.provide(Authenticated)),
      rpc: {
        group: WebhooksRpcs,
        handlers: Layer.merge(WebhooksRpcHandlers.pipe(Layer.provide(services)), RpcAuthenticated)
      },
      consumers: [WebhookFanout, makeDeliveryConsumer(settings)],
      // Endpoints on the user's projects went with them; on other projects they stay, no longer linked to the user.
      userData: {
        erase: (userId) =>
          Effect.flatMap(
            SqlClient.SqlClient,
            (sql) => sql`update webhook_endpoints set created_by = null where created_by = ${userId}`
          )
      },
      permissions: [manageWebhooks]
    }
  }
})
