import type { Permission } from "../module.js"

/** Moderators read project and file events only; the handler narrows what they see. */
export const readAudit: Permission = { name: "audit.read", action: "read the audit log", roles: ["admin", "moderator"] }

export const verifyAudit: Permission = { name: "audit.verify", action: "verify the audit log", roles: ["admin"] }
