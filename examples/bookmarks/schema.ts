import { Schema } from "effect"
import { strictRequest } from "../../src/services/schema.js"

export const CreateBookmark = Schema.Struct({
  url: Schema.String.pipe(Schema.pattern(/^https?:\/\/\S+$/, { message: () => "must be an http(s) URL" })),
  title: Schema.Trim.pipe(Schema.minLength(1), Schema.maxLength(200))
}).annotations(strictRequest)

export class Bookmark extends Schema.Class<Bookmark>("Bookmark")({
  id: Schema.UUID,
  url: Schema.String,
  title: Schema.String,
  createdAt: Schema.DateTimeUtc
}) {}

export class BookmarkList extends Schema.Class<BookmarkList>("BookmarkList")({
  items: Schema.Array(Bookmark)
}) {}
