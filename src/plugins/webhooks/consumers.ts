import { SqlClient } from "@effect/sql"
import { Clock, DateTime, Effect, Schema } from "effect"
import { Webhook as Signer } from "standardwebhooks"
import { Cipher } from "../../layers/cipher.js"
import type { ConsumerSpec, DeliveredMessage } from "../../layers/queue.js"
import { eventConsumer } from "../../services/events/consumer.js"
import { Events } from "../../services/events/events.js"
import type { Platform } from "../module.js"
import { WebhookEventType } from "./schema.js"
import { send } from "./sender.js"
import type { WebhooksSettings } from "./settings.js"
import { DELIVER } from "./webhooks.js"

/** For every event a project's webhooks subscribe to: one delivery per endpoint, queued through the outbox. */
export const WebhookFanout = eventConsumer({
  name: "webhooks-fanout",
  events: WebhookEventType.literals,
  maxAttempts: 16,
  handle: (event) =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const events = yield* Events
      // Standard Webhooks' payload shape; the request origin (client IP) stays inside Plinth.
      const body = JSON.stringify({
        id: event.id,
        type: event._tag,
        timestamp: DateTime.formatIso(event.occurredAt),
        data: event.payload
      })
      const created = yield* sql<{ id: string }>`
        insert into webhook_deliveries (endpoint_id, event_id, event_type, body)
        select id, ${event.id}, ${event._tag}, ${body} from webhook_endpoints
        where project_id = ${event.payload.projectId} and event_types @> ${JSON.stringify([event._tag])}::jsonb
        on conflict (endpoint_id, event_id) do nothing
        returning id`
      yield* Effect.forEach(created, ({ id }) => events.enqueue(DELIVER, { deliveryId: id }), { discard: true })
    })
})

const DeliverMessage = Schema.parseJson(Schema.Struct({ deliveryId: Schema.UUID }))

interface PendingDelivery {
  readonly status: "pending" | "delivered" | "failed"
  readonly body: string
  readonly url: string
  readonly secretCiphertext: string
}

/**
 * Sends one delivery, signed in the Standard Webhooks format. A failed attempt is logged on the delivery and
 * fails the message, so the queue retries it with exponential backoff; after the last attempt the delivery is
 * marked failed and the message dead-lettered. A delivered or deleted delivery is acknowledged as it is.
 */
export const makeDeliveryConsumer = (settings: WebhooksSettings): ConsumerSpec<Platform> => ({
  name: "webhooks-delivery",
  routingKeys: [DELIVER],
  maxAttempts: settings.maxAttempts,
  retryBaseDelay: settings.retryBaseDelay,
  handle: (message: DeliveredMessage) =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const cipher = yield* Cipher
      const { deliveryId } = yield* Schema.decodeUnknown(DeliverMessage)(message.body)
      const [delivery] = yield* sql<PendingDelivery>`
        select d.status, d.body, e.url, e.secret_ciphertext
        from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id
        where d.id = ${deliveryId}`
      if (delivery === undefined || delivery.status === "delivered") return
      const secret = yield* cipher.decrypt(delivery.secretCiphertext)
      const sentAt = new Date(yield* Clock.currentTimeMillis)
      const headers = {
        "webhook-id": deliveryId,
        "webhook-timestamp": Math.floor(sentAt.getTime() / 1000).toString(),
        "webhook-signature": new Signer(secret).sign(deliveryId, sentAt, delivery.body)
      }
      const outcome = yield* Effect.either(send(delivery.url, headers, delivery.body, settings, settings.timeout))
      const lastAttempt = message.attempt >= settings.maxAttempts
      if (outcome._tag === "Right") {
        yield* sql`update webhook_deliveries set status = 'delivered', attempts = attempts + 1,
          last_status_code = ${outcome.right}, last_error = null, last_attempt_at = ${sentAt}, delivered_at = now()
          where id = ${deliveryId}`
        return
      }
      const failure = outcome.left
      yield* sql`update webhook_deliveries set status = ${lastAttempt ? "failed" : "pending"},
        attempts = attempts + 1, last_status_code = ${failure.statusCode}, last_error = ${failure.reason.slice(0, 500)},
        last_attempt_at = ${sentAt}
        where id = ${deliveryId}`
      return yield* failure
    }).pipe(Effect.withSpan("WebhookDelivery.handle", { attributes: { attempt: message.attempt } }))
})
