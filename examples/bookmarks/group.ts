import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Authentication } from "../../src/http/groups/identity.js"
import { Conflict, Forbidden } from "../../src/services/errors.js"
import { Bookmark, BookmarkList, CreateBookmark } from "./schema.js"

/** The contract: what the OpenAPI document and typed clients see when the plugin is on. */
export class BookmarksGroup extends HttpApiGroup.make("bookmarks")
  .add(HttpApiEndpoint.get("list", "/bookmarks").addSuccess(BookmarkList))
  .add(
    HttpApiEndpoint.post("create", "/bookmarks")
      .setPayload(CreateBookmark)
      .addSuccess(Bookmark, { status: 201 })
      .addError(Conflict)
  )
  .addError(Forbidden)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Bookmarks (example plugin)") {}
