/**
 * A consumer of `plinth/client`, checked by `npm run typecheck` (and against the built package by
 * test/rpc/client-package.test.ts): each call's payload, result and errors come from the server's definitions.
 * Never run; it only has to compile, and each `@ts-expect-error` proves a wrong call does not.
 */
import { Effect, Redacted, Stream } from "effect"
import { makeClient, makePromiseClient, projectEvents, type Project, type User } from "plinth/client"
import { type AuditPage, AuditRpcs, WebhooksRpcs } from "plinth/client/plugins"

export const withEffect = Effect.gen(function* () {
  const client = yield* makeClient({ url: "http://localhost:3000", transport: "http" })
  const auth = yield* client.auth
    .register({ email: "ada@example.com", password: Redacted.make("a long password"), name: "Ada" })
    .pipe(Effect.catchTag("EmailTaken", (taken) => Effect.die(taken)))
  const user: User = auth.user
  const project: Project = yield* client.projects.create({ name: "Analytical Engine" })
  const page = yield* client.projects.list({ limit: 10, ownerId: user.id })
  const renamed = yield* client.projects
    .update({ id: project.id, name: "Difference Engine" })
    .pipe(Effect.catchTags({ Forbidden: () => Effect.succeed(project), NotFound: () => Effect.succeed(project) }))
  const first = yield* client.projects.events().pipe(Stream.take(1), Stream.runCollect)
  // @ts-expect-error: a project is addressed by its id, not its name
  yield* client.projects.get({ name: "Analytical Engine" })
  // @ts-expect-error: registering never fails with NotFound, so there is no such tag to catch
  yield* client.auth.register({ email: "", password: Redacted.make(""), name: "" }).pipe(Effect.catchTag("NotFound"))
  return [page.items.length, renamed.name, first.length] as const
})

export const withPromises = async () => {
  const client = await makePromiseClient({ url: "http://localhost:3000", token: () => "an access token" })
  const user: User = await client.profile.get()
  // @ts-expect-error: `limit` is a number
  await client.projects.list({ limit: "ten" })
  for await (const item of client.projects.events()) {
    if (item._tag === "project.created") return `${user.name} created ${item.payload.name}`
  }
  await client.close()
  return user.email
}

/** A server with PLUGINS=audit,webhooks: the client is made with those plugins' groups, and only those. */
export const withPlugins = Effect.gen(function* () {
  const client = yield* makeClient({ url: "http://localhost:3000", plugins: [AuditRpcs, WebhooksRpcs] })
  const page: AuditPage = yield* client.audit
    .list({ type: "project.updated", limit: 10 })
    .pipe(Effect.catchTag("Forbidden", (forbidden) => Effect.die(forbidden)))
  const webhook = yield* client.webhooks.create({
    projectId: "6f1c1a4e-6a51-4a39-9d38-3b8c2f2c0b71",
    url: "https://example.com/hook",
    events: ["project.updated"]
  })
  // @ts-expect-error: webhooks subscribe to the events of projects that still exist, not to project.deleted
  yield* client.webhooks.create({ projectId: webhook.projectId, url: webhook.url, events: ["project.deleted"] })
  const first = yield* projectEvents(client).pipe(Stream.take(1), Stream.runCollect)
  const auditOnly = yield* makeClient({ url: "http://localhost:3000", plugins: [AuditRpcs] })
  // @ts-expect-error: a client made without the webhooks group has no webhooks RPCs
  yield* auditOnly.webhooks.list({ projectId: webhook.projectId })
  return [page.items.length, webhook.secret, first.length] as const
})

export const withPluginPromises = async () => {
  const client = await makePromiseClient({ url: "http://localhost:3000", plugins: [AuditRpcs] })
  const report = await client.audit.verify()
  // @ts-expect-error: the core client has no audit RPCs
  await (await makePromiseClient({ url: "http://localhost:3000" })).audit.verify()
  await client.close()
  return report.intact
}
