import { Effect } from "effect"
import { CurrentUser } from "../../services/identity/current-user.js"
import { requireRole } from "../../services/identity/policy.js"
import type { Permission } from "../module.js"
import { AuditLog } from "./log.js"
import type { AuditQuery } from "./schema.js"

/** Moderators read project and file events only; `listAsCaller` narrows what they see. */
export const readAudit: Permission = { name: "audit.read", action: "read the audit log", roles: ["admin", "moderator"] }

export const verifyAudit: Permission = { name: "audit.verify", action: "verify the audit log", roles: ["admin"] }

/** What HTTP and RPC answer alike: the role table first, then the caller's view of the log. */
export const listAsCaller = (query: AuditQuery) =>
  Effect.gen(function* () {
    const actor = yield* CurrentUser
    yield* requireRole(actor, readAudit.roles, readAudit.action)
    const log = yield* AuditLog
    return yield* log.list(query, actor.role !== "admin")
  })

export const verifyAsCaller = Effect.gen(function* () {
  const actor = yield* CurrentUser
  yield* requireRole(actor, verifyAudit.roles, verifyAudit.action)
  const log = yield* AuditLog
  return yield* log.verify
})
