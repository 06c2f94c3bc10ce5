import { Chunk, Effect, Layer, Option, Stream } from "effect"
import { Unauthorized } from "../../services/errors.js"
import { LiveEvents } from "../../services/events/live-events.js"
import type { DomainEvent } from "../../services/events/schema.js"
import { CurrentUser } from "../../services/identity/current-user.js"
import { Files } from "../../services/projects/files.js"
import { Projects } from "../../services/projects/projects.js"
import { FeedSubscribed, FilesRpcs, type ProjectFeedItem, ProjectsRpcs } from "../groups/projects.js"

const sessionEnded = new Unauthorized({ detail: "The session of this feed has ended" })

const ofOwner =
  (userId: string) =>
  (event: DomainEvent): event is Exclude<ProjectFeedItem, FeedSubscribed> =>
    (event._tag === "project.created" || event._tag === "project.updated" || event._tag === "project.deleted") &&
    event.payload.ownerId === userId

const ProjectsHandlers = ProjectsRpcs.toLayer(
  Effect.gen(function* () {
    const projects = yield* Projects
    const live = yield* LiveEvents
    return ProjectsRpcs.of({
      "projects.create": (payload) => Effect.flatMap(CurrentUser, (actor) => projects.create(actor, payload)),
      "projects.list": (query) => Effect.flatMap(CurrentUser, (actor) => projects.list(actor, query)),
      "projects.stream": (query) =>
        Stream.unwrap(
          Effect.map(CurrentUser, (actor) =>
            Stream.paginateChunkEffect(query.cursor, (cursor) =>
              Effect.map(projects.list(actor, { ...query, cursor }), (page) => [
                Chunk.fromIterable(page.items),
                Option.map(Option.fromNullable(page.nextCursor), (next): string | undefined => next)
              ])
            )
          )
        ),
      "projects.get": ({ id }) => Effect.flatMap(CurrentUser, (actor) => projects.get(actor, id)),
      "projects.update": ({ id, ...changes }) =>
        Effect.flatMap(CurrentUser, (actor) => projects.update(actor, id, changes)),
      "projects.delete": ({ id }) => Effect.flatMap(CurrentUser, (actor) => projects.remove(actor, id)),
      "projects.events": () =>
        Stream.unwrapScoped(
          Effect.gen(function* () {
            const actor = yield* CurrentUser
            const events = yield* live.subscribe
            const own = events.pipe(
              Stream.mapEffect((event) =>
                event._tag === "session.revoked" && event.payload.sessionId === actor.sessionId
                  ? Effect.fail(sessionEnded)
                  : Effect.succeed(event)
              ),
              Stream.filter(ofOwner(actor.userId))
            )
            return Stream.concat(Stream.make(new FeedSubscribed()), own)
          })
        )
    })
  })
)

const FilesHandlers = FilesRpcs.toLayer(
  Effect.gen(function* () {
    const files = yield* Files
    return FilesRpcs.of({
      "files.list": ({ projectId, ...query }) =>
        Effect.flatMap(CurrentUser, (actor) => files.list(actor, projectId, query)),
      "files.get": ({ id }) => Effect.flatMap(CurrentUser, (actor) => files.get(actor, id)),
      "files.delete": ({ id }) => Effect.flatMap(CurrentUser, (actor) => files.remove(actor, id))
    })
  })
)

export const ProjectsRpcHandlers = Layer.merge(ProjectsHandlers, FilesHandlers)
