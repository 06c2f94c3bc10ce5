import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import {
  Forbidden,
  NotFound,
  PayloadTooLarge,
  RangeNotSatisfiable,
  UnsupportedMediaType
} from "../../services/errors.js"
import { FilePage, ListFilesParams, ProjectFile, UploadFileParams } from "../../services/projects/file-schema.js"
import { Authentication } from "./identity.js"

const IdPath = Schema.Struct({ id: Schema.UUID })

/** Raw bytes in either direction: the request or response body is the file itself, in its own content type. */
export const FileBytes = HttpApiSchema.Uint8Array({ contentType: "application/octet-stream" })

export class FilesGroup extends HttpApiGroup.make("files")
  .add(
    HttpApiEndpoint.post("upload", "/projects/:id/files")
      .setPath(IdPath)
      .setUrlParams(UploadFileParams)
      .setHeaders(Schema.Struct({ "content-type": Schema.optional(Schema.String) }))
      .setPayload(FileBytes)
      .addSuccess(ProjectFile, { status: 201 })
      .addError(Forbidden)
      .addError(NotFound)
      .addError(PayloadTooLarge)
      .addError(UnsupportedMediaType)
      .annotate(
        OpenApi.Description,
        "The body is the file's bytes, sent with the file's own `Content-Type` (required, 415 without it) and " +
          "streamed to storage; `name` is sanitised for display. Over the upload limit (25 MiB by default) the " +
          "answer is 413 and nothing of the upload is kept."
      )
  )
  .add(
    HttpApiEndpoint.get("list", "/projects/:id/files")
      .setPath(IdPath)
      .setUrlParams(ListFilesParams)
      .addSuccess(FilePage)
      .addError(NotFound)
      .annotate(OpenApi.Description, "Newest first.")
  )
  .add(HttpApiEndpoint.get("get", "/files/:id").setPath(IdPath).addSuccess(ProjectFile).addError(NotFound))
  .add(
    HttpApiEndpoint.get("content", "/files/:id/content")
      .setPath(IdPath)
      .addSuccess(FileBytes)
      .addError(NotFound)
      .addError(RangeNotSatisfiable)
      .annotate(
        OpenApi.Description,
        "The bytes with their `Content-Type`, `ETag` (the quoted sha256) and `Cache-Control: private, max-age=300`. " +
          "A single `Range` gets 206 (416 when no byte of it exists), `If-None-Match` 304. Where storage serves " +
          "files directly (`STORAGE_REDIRECTS` with S3) the answer is 302 to a URL valid for 5 minutes."
      )
  )
  .add(
    HttpApiEndpoint.del("delete", "/files/:id")
      .setPath(IdPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(Forbidden)
      .addError(NotFound)
  )
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Files") {}
