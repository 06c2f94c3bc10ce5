import { Rpc, RpcGroup } from "@effect/rpc"
import { Schema } from "effect"
import { RpcAuthentication, RpcObservability } from "../../src/rpc/groups/middleware.js"
import { Conflict, Forbidden } from "../../src/services/errors.js"
import { Bookmark, BookmarkList, CreateBookmark } from "./schema.js"

/** The same operations as `BookmarksGroup`, for `makeClient({ plugins: [BookmarksRpcs] })`. */
export class BookmarksRpcs extends RpcGroup.make(
  Rpc.make("bookmarks.list", { success: BookmarkList }),
  Rpc.make("bookmarks.create", { payload: CreateBookmark, success: Bookmark, error: Schema.Union(Forbidden, Conflict) })
)
  .middleware(RpcAuthentication)
  .middleware(RpcObservability) {}
