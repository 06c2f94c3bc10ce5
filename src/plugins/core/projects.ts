import { Layer } from "effect"
import { ProjectsGroup } from "../../http/groups/projects.js"
import { ProjectsHandlers } from "../../http/handlers/projects.js"
import { Projects } from "../../services/projects/projects.js"
import { defineModule } from "../module.js"
import { Authenticated } from "./identity.js"

/** Projects, with their files in object storage. */
export const ProjectsModule = defineModule({
  name: "projects",
  migrations: {},
  groups: [ProjectsGroup],
  http: ProjectsHandlers.pipe(Layer.provide(Projects.layer), Layer.provide(Authenticated)),
  consumers: []
})
