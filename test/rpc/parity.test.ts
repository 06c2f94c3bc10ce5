import { describe, expect, layer } from "@effect/vitest"
import { Effect, Either, Fiber, Queue, Redacted, Stream } from "effect"
import { makeClient, makePromiseClient, projectEvents } from "../../src/rpc/client.js"
import { ADMIN } from "../identity/harness.js"
import { TestServer } from "../support/server.js"
import { type Operations, operationsFor, rpcServer, type Tagged, type Transport, uniqueEmail } from "./harness.js"

const PASSWORD = "parity password 1"

/** A step's outcome as a comparable line: what succeeded, or the tag of the error it failed with. */
const outcome = <A>(effect: Effect.Effect<A, Tagged>, describe: (value: A) => string) =>
  Effect.map(Effect.either(effect), Either.match({ onLeft: (error) => error._tag, onRight: describe }))

const must = <A>(effect: Effect.Effect<A, Tagged>) => Effect.orDieWith(effect, (error) => `setup failed: ${error._tag}`)

interface Scenario {
  readonly name: string
  readonly expected: ReadonlyArray<string>
  readonly run: (ops: Operations) => Effect.Effect<ReadonlyArray<string>>
}

const scenarios: ReadonlyArray<Scenario> = [
  {
    name: "register",
    expected: ["registered", "Ada user", "EmailTaken"],
    run: (ops) =>
      Effect.gen(function* () {
        const email = uniqueEmail("register")
        const auth = yield* Effect.either(ops.register(email, PASSWORD, "Ada"))
        const token = Either.isRight(auth) ? auth.right.accessToken : ""
        return [
          Either.match(auth, { onLeft: (error) => error._tag, onRight: () => "registered" }),
          yield* outcome(ops.profile(token), (user) => `${user.name} ${user.role}`),
          yield* outcome(ops.register(email, PASSWORD, "Ada again"), () => "registered twice")
        ]
      })
  },
  {
    name: "login",
    expected: ["logged in", "Unauthorized", "Unauthorized"],
    run: (ops) =>
      Effect.gen(function* () {
        const email = uniqueEmail("login")
        yield* must(ops.register(email, PASSWORD, "Bo"))
        return [
          yield* outcome(ops.login(email, PASSWORD), (auth) => (auth.email === email ? "logged in" : "someone else")),
          yield* outcome(ops.login(email, "not the password"), () => "logged in with a wrong password"),
          yield* outcome(ops.login(uniqueEmail("nobody"), PASSWORD), () => "logged in as nobody")
        ]
      })
  },
  {
    name: "refresh reuse",
    expected: ["refreshed", "Unauthorized", "Unauthorized", "Unauthorized"],
    run: (ops) =>
      Effect.gen(function* () {
        const first = yield* must(ops.register(uniqueEmail("refresh"), PASSWORD, "Cy"))
        const second = yield* Effect.either(ops.refresh(first.refreshToken))
        const successor = Either.isRight(second) ? second.right : first
        return [
          Either.match(second, { onLeft: (error) => error._tag, onRight: () => "refreshed" }),
          // Presenting the retired token again revokes the whole login: its successor and its access tokens.
          yield* outcome(ops.refresh(first.refreshToken), () => "reused"),
          yield* outcome(ops.refresh(successor.refreshToken), () => "successor still valid"),
          yield* outcome(ops.profile(successor.accessToken), () => "access token still valid")
        ]
      })
  },
  {
    name: "profile update",
    expected: ["Dee Renamed", "EmailTaken", "Unauthorized", "Unauthorized"],
    run: (ops) =>
      Effect.gen(function* () {
        const dee = yield* must(ops.register(uniqueEmail("dee"), PASSWORD, "Dee"))
        const eve = yield* must(ops.register(uniqueEmail("eve"), PASSWORD, "Eve"))
        return [
          yield* outcome(ops.updateProfile(dee.accessToken, { name: "Dee Renamed" }), (user) => user.name),
          yield* outcome(ops.updateProfile(dee.accessToken, { email: eve.email }), () => "took another's email"),
          yield* outcome(ops.profile(undefined), () => "no token accepted"),
          yield* outcome(ops.profile("not.a.token"), () => "garbage token accepted")
        ]
      })
  },
  {
    name: "project CRUD",
    expected: ["Alpha", "Alpha", "Alpha", "Beta", "deleted", "NotFound", "NotFound"],
    run: (ops) =>
      Effect.gen(function* () {
        const owner = yield* must(ops.register(uniqueEmail("owner"), PASSWORD, "Owner"))
        const token = owner.accessToken
        const created = yield* Effect.either(ops.createProject(token, "Alpha"))
        const id = Either.isRight(created) ? created.right.id : "00000000-0000-4000-8000-000000000000"
        return [
          Either.match(created, { onLeft: (error) => error._tag, onRight: (project) => project.name }),
          yield* outcome(ops.getProject(token, id), (project) => project.name),
          yield* outcome(ops.listProjects(token, owner.userId), (names) => names.join(",")),
          yield* outcome(ops.renameProject(token, id, "Beta"), (project) => project.name),
          yield* outcome(ops.deleteProject(token, id), () => "deleted"),
          yield* outcome(ops.getProject(token, id), () => "still there"),
          yield* outcome(ops.deleteProject(token, id), () => "deleted twice")
        ]
      })
  },
  {
    name: "permission denials",
    expected: ["Forbidden", "Forbidden", "Forbidden", "guest", "Forbidden", "Forbidden", "Gamma by admin"],
    run: (ops) =>
      Effect.gen(function* () {
        const owner = yield* must(ops.register(uniqueEmail("owner"), PASSWORD, "Owner"))
        const other = yield* must(ops.register(uniqueEmail("other"), PASSWORD, "Other"))
        const project = yield* must(ops.createProject(owner.accessToken, "Gamma"))
        const admin = yield* must(ops.login(ADMIN.email, ADMIN.password))
        return [
          yield* outcome(ops.renameProject(other.accessToken, project.id, "Stolen"), () => "renamed another's"),
          yield* outcome(ops.deleteProject(other.accessToken, project.id), () => "deleted another's"),
          yield* outcome(ops.listUsers(other.accessToken), () => "listed users as a user"),
          yield* outcome(ops.setRole(admin.accessToken, other.userId, "guest"), (user) => user.role),
          yield* outcome(ops.createProject(other.accessToken, "As a guest"), () => "created as a guest"),
          yield* outcome(ops.setRole(other.accessToken, other.userId, "admin"), () => "promoted itself"),
          yield* outcome(ops.renameProject(admin.accessToken, project.id, "Gamma"), (p) => `${p.name} by admin`)
        ]
      })
  }
]

const transports: ReadonlyArray<Transport> = ["http api", "rpc over http", "rpc over websocket"]

describe("RPC parity with the HTTP API", () => {
  layer(rpcServer(), { excludeTestServices: true })((it) => {
    for (const scenario of scenarios) {
      it.scoped(scenario.name, () =>
        Effect.gen(function* () {
          const { url } = yield* TestServer
          const results: Array<readonly [Transport, ReadonlyArray<string>]> = []
          for (const transport of transports) {
            results.push([transport, yield* scenario.run(yield* operationsFor(transport, url))])
          }
          for (const [transport, outcomes] of results) {
            expect(outcomes, `${scenario.name} over ${transport}`).toEqual(scenario.expected)
          }
        })
      )
    }

    it.scoped("the live feed ends with Unauthorized when its session ends", () =>
      Effect.gen(function* () {
        const { url } = yield* TestServer
        const session: { token?: string } = {}
        const client = yield* makeClient({ url, token: () => session.token })
        const auth = yield* client.auth.register({
          email: uniqueEmail("feed"),
          password: Redacted.make(PASSWORD),
          name: "Fay"
        })
        session.token = auth.accessToken
        const items = yield* Queue.unbounded<string>()
        const feed = yield* projectEvents(client).pipe(
          Stream.runForEach((item) => Queue.offer(items, item._tag)),
          Effect.flip,
          Effect.fork
        )
        expect(yield* Queue.take(items)).toBe("feed.subscribed")
        yield* client.projects.create({ name: "Seen" })
        expect(yield* Queue.take(items)).toBe("project.created")
        yield* client.auth.logout({ refreshToken: auth.refreshToken })
        const ended = yield* Fiber.join(feed).pipe(Effect.timeout("20 seconds"))
        expect(ended).toMatchObject({ _tag: "Unauthorized", status: 401 })
      })
    )

    it.effect("the Promise client makes the same calls; a failure rejects with the tagged error itself", () =>
      Effect.gen(function* () {
        const { url } = yield* TestServer
        const seen = yield* Effect.promise(async () => {
          const session: { token?: string } = {}
          const client = await makePromiseClient({ url, token: () => session.token })
          try {
            const email = uniqueEmail("promise")
            const auth = await client.auth.register({ email, password: Redacted.make(PASSWORD), name: "Pat" })
            session.token = auth.accessToken
            const again = await client.auth.register({ email, password: Redacted.make(PASSWORD), name: "Pat" }).then(
              () => "registered twice",
              (error: { readonly _tag: string }) => error._tag
            )
            await client.projects.create({ name: "One" })
            await client.projects.create({ name: "Two" })
            const streamed: Array<string> = []
            for await (const project of client.projects.stream({ limit: 1, ownerId: auth.user.id })) {
              streamed.push(project.name)
            }
            return { again, streamed, name: (await client.profile.get()).name }
          } finally {
            await client.close()
          }
        })
        expect(seen).toEqual({ again: "EmailTaken", streamed: ["Two", "One"], name: "Pat" })
      })
    )
  })
})
