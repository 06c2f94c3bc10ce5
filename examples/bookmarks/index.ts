import { HttpApiBuilder } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { Config, DateTime, Effect, Layer } from "effect"
import { baseApi } from "../../src/http/api.js"
import { Authenticated, RpcAuthenticated } from "../../src/plugins/core/identity.js"
import { definePlugin, type Permission } from "../../src/plugins/module.js"
import { Conflict } from "../../src/services/errors.js"
import { CurrentUser } from "../../src/services/identity/current-user.js"
import { requireRole } from "../../src/services/identity/policy.js"
import { BookmarksGroup } from "./group.js"
import { BookmarksRpcs } from "./rpc-group.js"
import { Bookmark, BookmarkList, type CreateBookmark } from "./schema.js"

const saveBookmarks: Permission = {
  name: "bookmarks.save",
  action: "save bookmarks",
  roles: ["admin", "moderator", "user"]
}

interface BookmarkRow {
  readonly id: string
  readonly url: string
  readonly title: string
  readonly createdAt: Date
}

const toBookmark = (row: BookmarkRow) =>
  new Bookmark({ id: row.id, url: row.url, title: row.title, createdAt: DateTime.unsafeFromDate(row.createdAt) })

/** What both transports do; a real plugin would put the SQL in a service of its own. */
const listBookmarks = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const actor = yield* CurrentUser
  const rows = yield* sql<BookmarkRow>`
    select id, url, title, created_at from bookmarks where user_id = ${actor.userId}
    order by created_at desc`.pipe(Effect.orDie)
  return new BookmarkList({ items: rows.map(toBookmark) })
})

/** The setting arrives as a plain argument: the plugin's `make` closes over it. */
const saveBookmark = (limit: number, bookmark: typeof CreateBookmark.Type) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const actor = yield* CurrentUser
    yield* requireRole(actor, saveBookmarks.roles, saveBookmarks.action)
    const [count] = yield* sql<{ total: number }>`
      select count(*)::int as total from bookmarks where user_id = ${actor.userId}`.pipe(Effect.orDie)
    if ((count?.total ?? 0) >= limit) {
      return yield* new Conflict({ detail: `You already have ${limit} bookmarks` })
    }
    const [row] = yield* sql<BookmarkRow>`
      insert into bookmarks ${sql.insert({ userId: actor.userId, url: bookmark.url, title: bookmark.title })}
      returning id, url, title, created_at`.pipe(Effect.orDie)
    return toBookmark(row!)
  })

const makeHandlers = (limit: number) =>
  HttpApiBuilder.group(baseApi.add(BookmarksGroup), "bookmarks", (handlers) =>
    handlers.handle("list", () => listBookmarks).handle("create", ({ payload }) => saveBookmark(limit, payload))
  )

const makeRpcHandlers = (limit: number) =>
  BookmarksRpcs.toLayer({
    "bookmarks.list": () => listBookmarks,
    "bookmarks.create": (bookmark) => saveBookmark(limit, bookmark)
  })

/** A minimal plugin: one setting, one table, two endpoints and their RPCs, one permission, and an eraser. */
export const BookmarksPlugin = definePlugin({
  name: "bookmarks",
  version: "0.1.0",
  // PLUGIN_BOOKMARKS_LIMIT, required: start-up names it when it is missing or not a number.
  config: Config.integer("LIMIT"),
  make: (limit) => ({
    migrations: {
      "0001_create_bookmarks": Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql`create table bookmarks (
          id uuid primary key default gen_random_uuid(),
          user_id uuid not null,
          url text not null,
          title text not null,
          created_at timestamptz not null default now()
        )`
      )
    },
    groups: [BookmarksGroup],
    http: makeHandlers(limit).pipe(Layer.provide(Authenticated)),
    rpc: { group: BookmarksRpcs, handlers: Layer.merge(makeRpcHandlers(limit), RpcAuthenticated) },
    consumers: [],
    userData: {
      erase: (userId) =>
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql`delete from bookmarks where user_id = ${userId}`)
    },
    permissions: [saveBookmarks]
  })
})
