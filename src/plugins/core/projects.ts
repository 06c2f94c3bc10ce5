import { Layer } from "effect"
import { FilesGroup } from "../../http/groups/files.js"
import { ProjectsGroup } from "../../http/groups/projects.js"
import { FilesHandlers } from "../../http/handlers/files.js"
import { ProjectsHandlers } from "../../http/handlers/projects.js"
import { AbandonedUploadsSweeper, Files } from "../../services/projects/files.js"
import { projectsMigrations } from "../../services/projects/migrations.js"
import { Projects } from "../../services/projects/projects.js"
import { defineModule } from "../module.js"
import { ProjectsModuleRpcs } from "../../rpc/groups/projects.js"
import { ProjectsRpcHandlers } from "../../rpc/handlers/projects.js"
import { LiveFeedLive } from "../../services/projects/live-feed.js"
import { Authenticated, RpcAuthenticated } from "./identity.js"

const ProjectsServices = Files.layer.pipe(Layer.provideMerge(Projects.layer))

/** Projects, with their files in object storage. */
export const ProjectsModule = defineModule({
  name: "projects",
  migrations: projectsMigrations,
  groups: [ProjectsGroup, FilesGroup],
  http: Layer.merge(ProjectsHandlers, FilesHandlers).pipe(
    Layer.provide(ProjectsServices),
    Layer.provide(Authenticated)
  ),
  rpc: {
    group: ProjectsModuleRpcs,
    handlers: Layer.merge(
      ProjectsRpcHandlers.pipe(Layer.provide(LiveFeedLive), Layer.provide(ProjectsServices)),
      RpcAuthenticated
    )
  },
  consumers: [],
  workers: AbandonedUploadsSweeper.pipe(Layer.provide(ProjectsServices))
})
