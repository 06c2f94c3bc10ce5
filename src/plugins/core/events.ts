import { Layer } from "effect"
import { DeadLettersGroup } from "../../http/groups/dead-letters.js"
import { DeadLettersHandlers } from "../../http/handlers/dead-letters.js"
import { DeadLetters } from "../../services/events/dead-letters.js"
import { Authenticated } from "./identity.js"
import { eventsMigrations } from "../../services/events/migrations.js"
import { QueueDepthSampler } from "../../services/events/queue-depth.js"
import { OutboxRelayLive } from "../../services/events/relay.js"
import { StoragePurgeConsumer } from "../../services/events/storage-purge.js"
import { defineModule } from "../module.js"

/** The outbox relay and the consumers every deployment needs. */
export const EventsModule = defineModule({
  name: "events",
  migrations: eventsMigrations,
  groups: [DeadLettersGroup],
  http: DeadLettersHandlers.pipe(Layer.provide(DeadLetters.layer), Layer.provide(Authenticated)),
  consumers: [StoragePurgeConsumer],
  workers: Layer.merge(OutboxRelayLive, QueueDepthSampler)
})
