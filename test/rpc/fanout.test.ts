import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Queue, Redacted, Stream } from "effect"
import { makeClient, type PlinthClient, type ProjectFeedItem, projectEvents } from "../../src/rpc/client.js"
import { freshPostgresDatabase } from "../support/postgres.js"
import { startServer } from "../support/server.js"
import { serviceUrl } from "../support/services.js"
import { tempDir } from "../support/settings.js"
import { uniqueEmail } from "./harness.js"

const databaseUrl = serviceUrl("TEST_DATABASE_URL")
const amqpUrl = serviceUrl("TEST_AMQP_URL")

const feedOf = (client: PlinthClient) =>
  Effect.gen(function* () {
    const items = yield* Queue.unbounded<ProjectFeedItem>()
    yield* projectEvents(client).pipe(
      Stream.runForEach((item) => Queue.offer(items, item)),
      Effect.forkScoped
    )
    const next = Queue.take(items).pipe(Effect.timeout("20 seconds"), Effect.orDie)
    expect((yield* next)._tag).toBe("feed.subscribed")
    return next
  })

describe.skipIf(databaseUrl === undefined || amqpUrl === undefined)("The live feed across instances", () => {
  it.live(
    "reaches subscribers of every instance, including one that runs no workers",
    () =>
      Effect.gen(function* () {
        // One deployment: a shared database and broker, and the same keys (generated once in one DATA_DIR).
        const shared = {
          databaseUrl: Option.some(Redacted.make(yield* freshPostgresDatabase(databaseUrl!))),
          amqpUrl: Option.some(Redacted.make(amqpUrl!)),
          dataDir: tempDir("fanout")
        }
        const worker = yield* startServer({ ...shared, mode: "all" })
        const frontend = yield* startServer({ ...shared, mode: "server" })

        const session: { token?: string } = {}
        const viaWorker = yield* makeClient({ url: worker.url, token: () => session.token })
        const viaFrontend = yield* makeClient({ url: frontend.url, token: () => session.token })
        const auth = yield* viaWorker.auth.register({
          email: uniqueEmail("fanout"),
          password: Redacted.make("fan-out password"),
          name: "Fan"
        })
        session.token = auth.accessToken

        const onFrontend = yield* feedOf(viaFrontend)
        const onWorker = yield* feedOf(viaWorker)
        yield* viaWorker.projects.create({ name: "made on the worker" })
        yield* viaFrontend.projects.create({ name: "made on the frontend" })
        for (const next of [onFrontend, onWorker]) {
          const names = [yield* next, yield* next].map((item) =>
            item._tag === "project.created" ? item.payload.name : item._tag
          )
          expect(names.sort()).toEqual(["made on the frontend", "made on the worker"])
        }
      }).pipe(Effect.scoped),
    120_000
  )
})
