import { describe, expect, it, layer } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import { BookmarksPlugin } from "../../examples/bookmarks/index.js"
import { BookmarksRpcs } from "../../examples/bookmarks/rpc-group.js"
import { makeClient } from "../../src/rpc/client.js"
import { pluginRegistry } from "../../src/plugins/registry.js"
import { expectProblem, register, request } from "../identity/harness.js"
import { raw, TestServer } from "../support/server.js"
import { backends, buildServer, Database, pluginServer, waitFor } from "./harness.js"

/** The example of docs/plugins.md, registered next to the real plugins the way src/plugins/registry.ts does. */
const registry = { ...pluginRegistry, bookmarks: BookmarksPlugin }

describe("Example plugin: configuration", () => {
  it.live("refuses to start without PLUGIN_BOOKMARKS_LIMIT, naming it", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Effect.scoped(buildServer({ plugins: ["bookmarks"], registry })))
      expect(Exit.isFailure(exit)).toBe(true)
      const message = Exit.isFailure(exit) ? String(Cause.squash(exit.cause)) : ""
      expect(message).toContain("Plinth cannot start: the configuration is invalid.")
      expect(message).toContain("plugin bookmarks: PLUGIN_BOOKMARKS_LIMIT")
    })
  )
})

layer(pluginServer(backends[0]!, { plugins: ["bookmarks"], registry, env: { PLUGIN_BOOKMARKS_LIMIT: "2" } }), {
  timeout: "120 seconds",
  excludeTestServices: true
})("Example plugin: bookmarks", (it) => {
  it.scoped("serves its endpoints and RPCs, documents them, honours its setting and erases with the account", () =>
    Effect.gen(function* () {
      const { url } = yield* TestServer
      const sql = yield* Database
      const openApi = yield* raw(`${url}/openapi.json`)
      expect(Object.keys((openApi.json as { paths: object }).paths)).toContain("/bookmarks")

      const reader = yield* register()
      const token = reader.auth.accessToken
      const saved = yield* request("POST", "/bookmarks", {
        token,
        body: { url: "https://effect.website", title: " Effect " }
      })
      expect(saved.status, saved.text).toBe(201)
      expect(saved.json).toMatchObject({ url: "https://effect.website", title: "Effect" })
      expectProblem(yield* request("POST", "/bookmarks", { token, body: { url: "nope", title: "x" } }), 400)
      yield* request("POST", "/bookmarks", { token, body: { url: "https://example.com", title: "Two" } })
      expectProblem(yield* request("POST", "/bookmarks", { token, body: { url: "https://a.b", title: "3" } }), 409)
      const listed = yield* request("GET", "/bookmarks", { token })
      expect((listed.json as { items: ReadonlyArray<unknown> }).items).toHaveLength(2)

      const client = yield* makeClient({ url, token, transport: "http", plugins: [BookmarksRpcs] })
      const overRpc = yield* client.bookmarks.list()
      expect(overRpc.items.map((bookmark) => bookmark.title).sort()).toEqual(["Effect", "Two"])
      const refused = yield* Effect.flip(client.bookmarks.create({ url: "https://a.b", title: "3" }))
      expect(refused).toMatchObject({ _tag: "Conflict", detail: "You already have 2 bookmarks" })

      const deleted = yield* request("DELETE", "/users/account", { token, body: { password: reader.password } })
      expect(deleted.status, deleted.text).toBe(204)
      yield* waitFor(
        sql<{ total: number }>`select count(*)::int as total from bookmarks where user_id = ${reader.auth.user.id}`,
        ([row]) => row?.total === 0,
        "the eraser"
      )
    })
  )
})
