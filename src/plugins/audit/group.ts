import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Authentication } from "../../http/groups/identity.js"
import { Forbidden } from "../../services/errors.js"
import { AuditPage, AuditQuery, ChainReport } from "./schema.js"

export class AuditGroup extends HttpApiGroup.make("audit")
  .add(
    HttpApiEndpoint.get("list", "/admin/audit")
      .setUrlParams(AuditQuery)
      .addSuccess(AuditPage)
      .annotate(
        OpenApi.Description,
        "Recorded events, newest first. Admins see every event; moderators see project and file events only."
      )
  )
  .add(
    HttpApiEndpoint.get("verify", "/admin/audit/verify")
      .addSuccess(ChainReport)
      .annotate(OpenApi.Description, "Recomputes the hash chain and reports the first broken link. Admins only.")
  )
  .addError(Forbidden)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Audit log (plugin)") {}
