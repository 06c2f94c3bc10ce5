import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { CurrentUser } from "../../services/identity/current-user.js"
import { Projects } from "../../services/projects/projects.js"
import { baseApi } from "../api.js"
import { withEtagJson } from "../etag.js"
import { ProjectsGroup } from "../groups/projects.js"

export const ProjectsHandlers = HttpApiBuilder.group(baseApi.add(ProjectsGroup), "projects", (handlers) =>
  Effect.gen(function* () {
    const projects = yield* Projects
    return handlers
      .handle("create", ({ payload }) => Effect.flatMap(CurrentUser, (actor) => projects.create(actor, payload)))
      .handle("list", ({ urlParams }) =>
        Effect.flatMap(CurrentUser, (actor) => Effect.flatMap(projects.listJson(actor, urlParams), withEtagJson))
      )
      .handle("get", ({ path }) =>
        Effect.flatMap(CurrentUser, (actor) => Effect.flatMap(projects.getJson(actor, path.id), withEtagJson))
      )
      .handle("update", ({ path, payload }) =>
        Effect.flatMap(CurrentUser, (actor) => projects.update(actor, path.id, payload))
      )
      .handle("delete", ({ path }) => Effect.flatMap(CurrentUser, (actor) => projects.remove(actor, path.id)))
  })
)
