import { HttpApiBuilder } from "@effect/platform"
import { baseApi } from "../../http/api.js"
import { AuditGroup } from "./group.js"
import { listAsCaller, verifyAsCaller } from "./permissions.js"

export const AuditHandlers = HttpApiBuilder.group(baseApi.add(AuditGroup), "audit", (handlers) =>
  handlers.handle("list", ({ urlParams }) => listAsCaller(urlParams)).handle("verify", () => verifyAsCaller)
)
