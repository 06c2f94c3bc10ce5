import { Schema } from "effect"
import { PageLimit } from "../pagination.js"
import { optionalField, strictRequest } from "../schema.js"

export const ProjectName = Schema.Trim.pipe(
  Schema.minLength(1, { message: () => "must not be empty" }),
  Schema.maxLength(255, { message: () => "must be at most 255 characters" }),
  Schema.annotations({ identifier: "ProjectName" })
)

export const ProjectDescription = Schema.NullOr(
  Schema.String.pipe(Schema.maxLength(10_000, { message: () => "must be at most 10,000 characters" }))
)

export class Project extends Schema.Class<Project>("Project")({
  id: Schema.UUID,
  name: Schema.String,
  description: Schema.NullOr(Schema.String),
  ownerId: Schema.UUID,
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
}) {}

export class CreateProjectRequest extends Schema.Class<CreateProjectRequest>("CreateProjectRequest")(
  Schema.Struct({ name: ProjectName, description: optionalField(ProjectDescription) }).annotations(strictRequest)
) {}

export class UpdateProjectRequest extends Schema.Class<UpdateProjectRequest>("UpdateProjectRequest")(
  Schema.Struct({
    name: optionalField(ProjectName),
    description: optionalField(ProjectDescription)
  }).annotations(strictRequest)
) {}

export const ListProjectsParams = Schema.Struct({
  limit: Schema.optionalWith(PageLimit, { default: () => 20, exact: true }),
  cursor: optionalField(Schema.String.pipe(Schema.maxLength(200))),
  ownerId: optionalField(Schema.UUID),
  q: optionalField(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(255)))
})

export interface ListProjects {
  readonly limit: number
  readonly cursor?: string | undefined
  readonly ownerId?: string | undefined
  readonly q?: string | undefined
}

export class ProjectPage extends Schema.Class<ProjectPage>("ProjectPage")({
  items: Schema.Array(Project),
  nextCursor: Schema.NullOr(Schema.String)
}) {}
