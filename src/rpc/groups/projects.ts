import { Rpc, RpcGroup } from "@effect/rpc"
import { Schema } from "effect"
import { Forbidden, NotFound, Unauthorized, ValidationFailed } from "../../services/errors.js"
import { ProjectCreated, ProjectDeleted, ProjectUpdated } from "../../services/events/schema.js"
import { FilePage, ListFilesParams, ProjectFile } from "../../services/projects/file-schema.js"
import {
  CreateProjectRequest,
  ListProjectsParams,
  Project,
  ProjectPage,
  UpdateProjectRequest
} from "../../services/projects/schema.js"
import { strictRequest } from "../../services/schema.js"
import { ById } from "./identity.js"
import { RpcAuthentication, RpcObservability } from "./middleware.js"

/** The first item of every feed: from here on, every event of the caller's projects is delivered. */
export class FeedSubscribed extends Schema.TaggedClass<FeedSubscribed>()("feed.subscribed", {}) {}

export const ProjectFeedItem = Schema.Union(FeedSubscribed, ProjectCreated, ProjectUpdated, ProjectDeleted)
export type ProjectFeedItem = typeof ProjectFeedItem.Type

export class ProjectsRpcs extends RpcGroup.make(
  Rpc.make("projects.create", { payload: CreateProjectRequest, success: Project, error: Forbidden }),
  Rpc.make("projects.list", {
    payload: ListProjectsParams.annotations(strictRequest),
    success: ProjectPage,
    error: ValidationFailed
  }),
  /** Every project matching the filters, newest first, fetched `limit` at a time as the client reads. */
  Rpc.make("projects.stream", {
    payload: ListProjectsParams.annotations(strictRequest),
    success: Project,
    error: ValidationFailed,
    stream: true
  }),
  Rpc.make("projects.get", { payload: ById, success: Project, error: NotFound }),
  Rpc.make("projects.update", {
    payload: Schema.Struct({ id: Schema.UUID, ...UpdateProjectRequest.fields }).annotations(strictRequest),
    success: Project,
    error: Schema.Union(Forbidden, NotFound)
  }),
  Rpc.make("projects.delete", { payload: ById, error: Schema.Union(Forbidden, NotFound) }),
  /**
   * Live: the caller's projects being created, changed and deleted, until the client stops reading; it fails
   * with `Unauthorized` when the caller's session ends (logout, revocation, password change).
   */
  Rpc.make("projects.events", { success: ProjectFeedItem, error: Unauthorized, stream: true })
)
  .middleware(RpcAuthentication)
  .middleware(RpcObservability) {}

/** File metadata; the bytes travel over HTTP (`/projects/{id}/files`, `/files/{id}/content`). */
export class FilesRpcs extends RpcGroup.make(
  Rpc.make("files.list", {
    payload: Schema.Struct({ projectId: Schema.UUID, ...ListFilesParams.fields }).annotations(strictRequest),
    success: FilePage,
    error: Schema.Union(NotFound, ValidationFailed)
  }),
  Rpc.make("files.get", { payload: ById, success: ProjectFile, error: NotFound }),
  Rpc.make("files.delete", { payload: ById, error: Schema.Union(Forbidden, NotFound) })
)
  .middleware(RpcAuthentication)
  .middleware(RpcObservability) {}

/** Projects and their files' metadata: every operation of the projects module that is not a byte transfer. */
export class ProjectsModuleRpcs extends RpcGroup.make().merge(ProjectsRpcs, FilesRpcs) {}
