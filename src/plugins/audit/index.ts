import { Config, Duration, Layer } from "effect"
import { eventConsumer } from "../../services/events/consumer.js"
import { DomainEvent } from "../../services/events/schema.js"
import { Authenticated, RpcAuthenticated } from "../core/identity.js"
import { definePlugin } from "../module.js"
import { AuditGroup } from "./group.js"
import { AuditHandlers } from "./handlers.js"
import { appendToAuditLog, AuditLog, makeAuditPruner } from "./log.js"
import { auditMigrations } from "./migrations.js"
import { AuditRpcs } from "./rpc-group.js"
import { AuditRpcHandlers } from "./rpc-handlers.js"
import { readAudit, verifyAudit } from "./permissions.js"

const positiveDuration = (name: string, fallback: Duration.Duration) =>
  Config.duration(name).pipe(
    Config.validate({
      message: 'Expected a positive duration such as "90 days"',
      validation: (d) => Duration.greaterThan(d, Duration.zero)
    }),
    Config.withDefault(fallback)
  )

const AuditRecorder = eventConsumer({
  name: "audit-log",
  events: DomainEvent.members.map((member) => member._tag),
  maxAttempts: 16,
  handle: appendToAuditLog
})

/** Every domain event in an append-only, hash-chained table, pruned after PLUGIN_AUDIT_RETENTION. */
export const AuditPlugin = definePlugin({
  name: "audit",
  version: "1.0.0",
  config: Config.all({
    retention: positiveDuration("RETENTION", Duration.days(365)),
    pruneInterval: positiveDuration("PRUNE_INTERVAL", Duration.hours(1))
  }),
  make: (settings) => ({
    migrations: auditMigrations,
    groups: [AuditGroup],
    http: AuditHandlers.pipe(Layer.provide(AuditLog.layer), Layer.provide(Authenticated)),
    rpc: {
      group: AuditRpcs,
      handlers: Layer.merge(AuditRpcHandlers.pipe(Layer.provide(AuditLog.layer)), RpcAuthenticated)
    },
    consumers: [AuditRecorder],
    workers: makeAuditPruner(settings.retention, settings.pruneInterval).pipe(Layer.provide(AuditLog.layer)),
    userData: {
      retainedBecause:
        "the audit log keeps user ids, pseudonymous once the account is gone, with emails pseudonymised and " +
        "secrets redacted, until PLUGIN_AUDIT_RETENTION passes"
    },
    permissions: [readAudit, verifyAudit]
  })
})
