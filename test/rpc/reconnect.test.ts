import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Queue, Redacted, Scope, Stream } from "effect"
import { AppConfig } from "../../src/layers/config.js"
import { PlinthLive } from "../../src/main.js"
import { makeClient, type ProjectFeedItem, projectEvents } from "../../src/rpc/client.js"
import { freePort } from "../support/server.js"
import { testSettings } from "../support/settings.js"
import { uniqueEmail } from "./harness.js"

const nextItem = (feed: Queue.Queue<ProjectFeedItem>) =>
  Queue.take(feed).pipe(Effect.timeout("30 seconds"), Effect.orDie)

describe("RPC over WebSocket", () => {
  it.live(
    "reconnects after a server restart and the live feed resumes with new events",
    () =>
      Effect.gen(function* () {
        const port = yield* freePort()
        // The same port and data directory, so the restarted server is the same deployment to the client.
        const settings = testSettings({ port })
        const start = Effect.gen(function* () {
          const scope = yield* Scope.make()
          yield* Layer.build(PlinthLive.pipe(Layer.provide(Layer.succeed(AppConfig, settings)))).pipe(
            Scope.extend(scope)
          )
          return scope
        })

        const first = yield* start
        const session: { token?: string } = {}
        const client = yield* makeClient({ url: `http://127.0.0.1:${port}`, token: () => session.token })
        const auth = yield* client.auth.register({
          email: uniqueEmail("reconnect"),
          password: Redacted.make("reconnect password"),
          name: "Rae"
        })
        session.token = auth.accessToken

        const feed = yield* Queue.unbounded<ProjectFeedItem>()
        yield* projectEvents(client).pipe(
          Stream.runForEach((item) => Queue.offer(feed, item)),
          Effect.forkScoped
        )
        expect((yield* nextItem(feed))._tag).toBe("feed.subscribed")
        yield* client.projects.create({ name: "before the restart" })
        expect(yield* nextItem(feed)).toMatchObject({
          _tag: "project.created",
          payload: { name: "before the restart", ownerId: auth.user.id }
        })

        yield* Scope.close(first, Exit.void)
        const second = yield* start
        yield* Effect.addFinalizer(() => Scope.close(second, Exit.void))

        expect((yield* nextItem(feed))._tag).toBe("feed.subscribed")
        yield* client.projects.create({ name: "after the restart" })
        expect(yield* nextItem(feed)).toMatchObject({
          _tag: "project.created",
          payload: { name: "after the restart", ownerId: auth.user.id }
        })
      }).pipe(Effect.scoped),
    120_000
  )
})
