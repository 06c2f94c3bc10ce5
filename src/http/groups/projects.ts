import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Forbidden, NotFound } from "../../services/errors.js"
import {
  CreateProjectRequest,
  ListProjectsParams,
  Project,
  ProjectPage,
  UpdateProjectRequest
} from "../../services/projects/schema.js"
import { Authentication } from "./identity.js"

const IdPath = Schema.Struct({ id: Schema.UUID })

export class ProjectsGroup extends HttpApiGroup.make("projects")
  .add(
    HttpApiEndpoint.post("create", "/projects")
      .setPayload(CreateProjectRequest)
      .addSuccess(Project, { status: 201 })
      .addError(Forbidden)
  )
  .add(
    HttpApiEndpoint.get("list", "/projects")
      .setUrlParams(ListProjectsParams)
      .addSuccess(ProjectPage)
      .annotate(OpenApi.Description, "Newest first. `q` matches a case-insensitive substring of the name.")
  )
  .add(HttpApiEndpoint.get("get", "/projects/:id").setPath(IdPath).addSuccess(Project).addError(NotFound))
  .add(
    HttpApiEndpoint.patch("update", "/projects/:id")
      .setPath(IdPath)
      .setPayload(UpdateProjectRequest)
      .addSuccess(Project)
      .addError(Forbidden)
      .addError(NotFound)
      .annotate(OpenApi.Description, "`description: null` clears the description.")
  )
  .add(
    HttpApiEndpoint.del("delete", "/projects/:id")
      .setPath(IdPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(Forbidden)
      .addError(NotFound)
      .annotate(OpenApi.Description, "Deletes the project with its files.")
  )
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Projects") {}
