import { Schema } from "effect"
import { PageLimit } from "../pagination.js"

export class ProjectFile extends Schema.Class<ProjectFile>("File")({
  id: Schema.UUID,
  projectId: Schema.UUID,
  /** For display only: sanitised, and never part of a storage key. */
  name: Schema.String,
  contentType: Schema.String,
  size: Schema.NonNegativeInt,
  /** Lower-case hex sha256 of the bytes; also the content's ETag. */
  sha256: Schema.String,
  createdAt: Schema.DateTimeUtc
}) {}

export class FilePage extends Schema.Class<FilePage>("FilePage")({
  items: Schema.Array(ProjectFile),
  nextCursor: Schema.NullOr(Schema.String)
}) {}

export const UploadFileParams = Schema.Struct({
  name: Schema.String.pipe(
    Schema.minLength(1, { message: () => "must not be empty" }),
    Schema.maxLength(1024, { message: () => "must be at most 1,024 characters" })
  )
})

export const ListFilesParams = Schema.Struct({
  limit: Schema.optionalWith(PageLimit, { default: () => 20 }),
  cursor: Schema.optional(Schema.String.pipe(Schema.maxLength(200)))
})
