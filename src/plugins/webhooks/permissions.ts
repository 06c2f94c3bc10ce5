import { Effect } from "effect"
import { CurrentUser } from "../../services/identity/current-user.js"
import { requireRole } from "../../services/identity/policy.js"
import type { Permission } from "../module.js"

/** Users manage the webhooks of their own projects; moderators and admins those of any project. */
export const manageWebhooks: Permission = {
  name: "webhooks.manage",
  action: "manage webhooks",
  roles: ["admin", "moderator", "user"]
}

/** The caller, past the role check; `Projects.authorizeChange` then keeps users to their own projects. */
export const authorized = Effect.tap(CurrentUser, (actor) =>
  requireRole(actor, manageWebhooks.roles, manageWebhooks.action)
)
