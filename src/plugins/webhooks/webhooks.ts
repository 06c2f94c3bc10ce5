import { SqlClient } from "@effect/sql"
import { Context, DateTime, Effect, Layer, Option } from "effect"
import { randomBytes } from "node:crypto"
import { Cipher } from "../../layers/cipher.js"
import { FieldProblem, type Forbidden, NotFound, ValidationFailed } from "../../services/errors.js"
import { Events } from "../../services/events/events.js"
import type { Actor } from "../../services/identity/current-user.js"
import { decodeCursor, pageOf } from "../../services/pagination.js"
import { Projects } from "../../services/projects/projects.js"
import { Delivery, DeliveryPage, Webhook, WebhookCreated, WebhookList, type WebhookEventType } from "./schema.js"
import type { WebhooksSettings } from "./settings.js"
import { targetProblem } from "./targets.js"

/** The routing key of a delivery's queue message; its body names the delivery. */
export const DELIVER = "webhooks.deliver"

interface EndpointRow {
  readonly id: string
  readonly projectId: string
  readonly url: string
  readonly eventTypes: ReadonlyArray<string>
  readonly createdAt: Date
}

interface DeliveryRow {
  readonly id: string
  readonly endpointId: string
  readonly eventId: string
  readonly eventType: string
  readonly status: "pending" | "delivered" | "failed"
  readonly attempts: number
  readonly lastStatusCode: number | null
  readonly lastError: string | null
  readonly createdAt: Date
  readonly lastAttemptAt: Date | null
  readonly deliveredAt: Date | null
}

const toWebhook = (row: EndpointRow) =>
  new Webhook({
    id: row.id,
    projectId: row.projectId,
    url: row.url,
    events: row.eventTypes,
    createdAt: DateTime.unsafeFromDate(row.createdAt)
  })

const dateOrNull = (date: Date | null) => (date === null ? null : DateTime.unsafeFromDate(date))

const toDelivery = (row: DeliveryRow) =>
  new Delivery({
    id: row.id,
    webhookId: row.endpointId,
    eventId: row.eventId,
    eventType: row.eventType,
    status: row.status,
    attempts: row.attempts,
    lastStatusCode: row.lastStatusCode,
    lastError: row.lastError,
    createdAt: DateTime.unsafeFromDate(row.createdAt),
    lastAttemptAt: dateOrNull(row.lastAttemptAt),
    deliveredAt: dateOrNull(row.deliveredAt)
  })

const DELIVERY_COLUMNS =
  "id, endpoint_id, event_id, event_type, status, attempts, last_status_code, last_error, created_at, last_attempt_at, delivered_at"

const noWebhook = new NotFound({ detail: "No such webhook" })

/** Standard Webhooks secrets: `whsec_` and 32 random bytes in base64. */
const newSecret = () => `whsec_${randomBytes(32).toString("base64")}`

export interface WebhooksShape {
  readonly create: (
    actor: Actor,
    projectId: string,
    input: { readonly url: string; readonly events: ReadonlyArray<WebhookEventType> }
  ) => Effect.Effect<WebhookCreated, Forbidden | NotFound | ValidationFailed>
  readonly list: (actor: Actor, projectId: string) => Effect.Effect<WebhookList, Forbidden | NotFound>
  readonly remove: (actor: Actor, projectId: string, webhookId: string) => Effect.Effect<void, Forbidden | NotFound>
  readonly deliveries: (
    actor: Actor,
    projectId: string,
    webhookId: string,
    page: { readonly limit: number; readonly cursor?: string | undefined }
  ) => Effect.Effect<DeliveryPage, Forbidden | NotFound | ValidationFailed>
  readonly redeliver: (
    actor: Actor,
    projectId: string,
    webhookId: string,
    deliveryId: string
  ) => Effect.Effect<Delivery, Forbidden | NotFound>
}

export class Webhooks extends Context.Tag("app/Webhooks")<Webhooks, WebhooksShape>() {
  static readonly make = (settings: WebhooksSettings) =>
    Layer.effect(
      Webhooks,
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const cipher = yield* Cipher
        const events = yield* Events
        const projects = yield* Projects

        const endpointOf = Effect.fn("Webhooks.endpointOf")(function* (
          actor: Actor,
          projectId: string,
          webhookId: string
        ) {
          yield* projects.authorizeChange(actor, projectId)
          const [row] = yield* sql<EndpointRow>`
            select id, project_id, url, event_types, created_at from webhook_endpoints
            where id = ${webhookId} and project_id = ${projectId}`.pipe(Effect.orDie)
          return row === undefined ? yield* noWebhook : row
        })

        const create = Effect.fn("Webhooks.create")(function* (
          actor: Actor,
          projectId: string,
          input: { readonly url: string; readonly events: ReadonlyArray<WebhookEventType> }
        ) {
          yield* projects.authorizeChange(actor, projectId)
          const problem = yield* targetProblem(input.url, settings)
          if (problem !== undefined) {
            return yield* new ValidationFailed({
              detail: `The webhook URL ${problem}`,
              errors: [new FieldProblem({ path: "url", message: problem })]
            })
          }
          const secret = newSecret()
          const [row] = yield* sql<EndpointRow>`insert into webhook_endpoints ${sql.insert({
            projectId,
            url: input.url,
            eventTypes: JSON.stringify([...new Set(input.events)]),
            secretCiphertext: yield* cipher.encrypt(secret),
            createdBy: actor.userId
          })} returning id, project_id, url, event_types, created_at`.pipe(Effect.orDie)
          return new WebhookCreated({ ...toWebhook(row!), secret })
        })

        const list = Effect.fn("Webhooks.list")(function* (actor: Actor, projectId: string) {
          yield* projects.authorizeChange(actor, projectId)
          const rows = yield* sql<EndpointRow>`
            select id, project_id, url, event_types, created_at from webhook_endpoints
            where project_id = ${projectId} order by created_at, id`.pipe(Effect.orDie)
          return new WebhookList({ items: rows.map(toWebhook) })
        })

        const remove = Effect.fn("Webhooks.remove")(function* (actor: Actor, projectId: string, webhookId: string) {
          yield* endpointOf(actor, projectId, webhookId)
          yield* sql`delete from webhook_endpoints where id = ${webhookId}`.pipe(Effect.orDie)
        })

        const deliveries = Effect.fn("Webhooks.deliveries")(function* (
          actor: Actor,
          projectId: string,
          webhookId: string,
          page: { readonly limit: number; readonly cursor?: string | undefined }
        ) {
          yield* endpointOf(actor, projectId, webhookId)
          const after = yield* decodeCursor(page.cursor)
          const rows = yield* sql<DeliveryRow & { cursorAt: string }>`
            select ${sql.unsafe(DELIVERY_COLUMNS)}, created_at::text as cursor_at from webhook_deliveries
            where endpoint_id = ${webhookId}
            ${Option.match(after, {
              onNone: () => sql``,
              onSome: ([createdAt, id]) => sql`and (created_at, id) < (${createdAt}::timestamptz, ${id})`
            })}
            order by created_at desc, id desc
            limit ${page.limit + 1}`.pipe(Effect.orDie)
          const { page: items, nextCursor } = pageOf(rows, page.limit)
          return new DeliveryPage({ items: items.map(toDelivery), nextCursor })
        })

        const redeliver = Effect.fn("Webhooks.redeliver")(function* (
          actor: Actor,
          projectId: string,
          webhookId: string,
          deliveryId: string
        ) {
          yield* endpointOf(actor, projectId, webhookId)
          const row = yield* sql
            .withTransaction(
              Effect.gen(function* () {
                const [row] = yield* sql<DeliveryRow>`
                  update webhook_deliveries set status = 'pending'
                  where id = ${deliveryId} and endpoint_id = ${webhookId}
                  returning ${sql.unsafe(DELIVERY_COLUMNS)}`
                if (row !== undefined) yield* events.enqueue(DELIVER, { deliveryId })
                return row
              })
            )
            .pipe(Effect.orDie)
          return row === undefined ? yield* new NotFound({ detail: "No such delivery" }) : toDelivery(row)
        })

        return Webhooks.of({ create, list, remove, deliveries, redeliver })
      })
    )
}
