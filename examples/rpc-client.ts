/**
 * Registers an account, subscribes to its live project feed, creates a project, lists projects and prints what
 * the feed delivered; against a running `npm start`:
 *
 *   npm run example:rpc [-- http://localhost:3000]
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Deferred, Effect, Fiber, Redacted, Stream } from "effect"
import { randomUUID } from "node:crypto"
import { makeClient, projectEvents } from "plinth/client"

const url = process.argv[2] ?? "http://localhost:3000"

const program = Effect.gen(function* () {
  const session: { token?: string } = {}
  const client = yield* makeClient({ url, token: () => session.token })

  const auth = yield* client.auth.register({
    email: `example-${randomUUID().slice(0, 8)}@example.com`,
    password: Redacted.make("an example password"),
    name: "Example"
  })
  session.token = auth.accessToken
  yield* Console.log(`registered ${auth.user.email}`)

  // The feed says when it is live, so the project created next cannot slip past it.
  const live = yield* Deferred.make<void>()
  const feed = yield* projectEvents(client).pipe(
    Stream.tap((item) =>
      item._tag === "feed.subscribed"
        ? Deferred.succeed(live, undefined)
        : Console.log(`feed: ${item._tag} ${item.payload.projectId}`)
    ),
    Stream.filter((item) => item._tag === "project.created"),
    Stream.take(1),
    Stream.runDrain,
    Effect.fork
  )
  yield* Deferred.await(live)

  const project = yield* client.projects.create({ name: "My first project", description: "made over RPC" })
  yield* Console.log(`created ${project.name} (${project.id})`)

  const page = yield* client.projects.list({ limit: 10, ownerId: auth.user.id })
  yield* Console.log(`listed ${page.items.map((item) => item.name).join(", ")}`)

  yield* Fiber.join(feed).pipe(Effect.timeout("10 seconds"))
  yield* Console.log("the live feed delivered the new project")
})

NodeRuntime.runMain(program.pipe(Effect.scoped))
