import { Rpc, RpcGroup } from "@effect/rpc"
import { Schema } from "effect"
import { RpcAuthentication, RpcObservability } from "../../rpc/groups/middleware.js"
import { Forbidden, ValidationFailed } from "../../services/errors.js"
import { strictRequest } from "../../services/schema.js"
import { AuditPage, AuditQuery, ChainReport } from "./schema.js"

/** The same operations as the plugin's `AuditGroup`; served, and in clients' types, only with the plugin on. */
export class AuditRpcs extends RpcGroup.make(
  /** Newest first. Admins see every event; moderators see project and file events only. */
  Rpc.make("audit.list", {
    payload: AuditQuery.annotations(strictRequest),
    success: AuditPage,
    error: Schema.Union(Forbidden, ValidationFailed)
  }),
  /** Recomputes the hash chain and reports the first broken link. Admins only. */
  Rpc.make("audit.verify", { success: ChainReport, error: Forbidden })
)
  .middleware(RpcAuthentication)
  .middleware(RpcObservability) {}
