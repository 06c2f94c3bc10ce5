import type { Permission } from "../module.js"

/** Users manage the webhooks of their own projects; moderators and admins those of any project. */
export const manageWebhooks: Permission = {
  name: "webhooks.manage",
  action: "manage webhooks",
  roles: ["admin", "moderator", "user"]
}
