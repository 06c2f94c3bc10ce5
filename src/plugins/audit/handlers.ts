import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { baseApi } from "../../http/api.js"
import { CurrentUser } from "../../services/identity/current-user.js"
import { requireRole } from "../../services/identity/policy.js"
import { AuditGroup } from "./group.js"
import { AuditLog } from "./log.js"
import { readAudit, verifyAudit } from "./permissions.js"

export const AuditHandlers = HttpApiBuilder.group(baseApi.add(AuditGroup), "audit", (handlers) =>
  Effect.gen(function* () {
    const log = yield* AuditLog
    return handlers
      .handle("list", ({ urlParams }) =>
        Effect.gen(function* () {
          const actor = yield* CurrentUser
          yield* requireRole(actor, readAudit.roles, readAudit.action)
          return yield* log.list(urlParams, actor.role !== "admin")
        })
      )
      .handle("verify", () =>
        Effect.gen(function* () {
          const actor = yield* CurrentUser
          yield* requireRole(actor, verifyAudit.roles, verifyAudit.action)
          return yield* log.verify
        })
      )
  })
)
