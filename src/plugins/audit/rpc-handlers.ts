import { listAsCaller, verifyAsCaller } from "./permissions.js"
import { AuditRpcs } from "./rpc-group.js"

export const AuditRpcHandlers = AuditRpcs.toLayer({
  "audit.list": listAsCaller,
  "audit.verify": () => verifyAsCaller
})
