import { SqlClient } from "@effect/sql"
import { Array as Arr, Context, DateTime, Effect, Layer, Option, Schema } from "effect"
import { Cache, readThrough } from "../../layers/cache.js"
import { ReadReplica } from "../../layers/database.js"
import { Forbidden, NotFound, type ValidationFailed } from "../errors.js"
import { Events, type PreparedEvent, uuidV7 } from "../events/events.js"
import { makeWriteBatches } from "../write-batches.js"
import type { Actor } from "../identity/current-user.js"
import { requireRole } from "../identity/policy.js"
import { decodeCursor, likePattern, pageOf } from "../pagination.js"
import { type ListProjects, Project, ProjectPage } from "./schema.js"
import { fromRows } from "../schema.js"
import { forgetListPages, forgetProjects, PROJECT_TTL, projectKey, readListPage } from "./cached.js"

interface ProjectRow {
  readonly id: string
  readonly name: string
  readonly description: string | null
  readonly ownerId: string
  readonly createdAt: Date
  readonly updatedAt: Date
}

const toProject = (row: ProjectRow) =>
  new Project(
    {
      id: row.id,
      name: row.name,
      description: row.description,
      ownerId: row.ownerId,
      createdAt: DateTime.unsafeFromDate(row.createdAt),
      updatedAt: DateTime.unsafeFromDate(row.updatedAt)
    },
    fromRows
  )

const ProjectJson = Schema.parseJson(Project)
const decodeProjectJson = Schema.decodeUnknown(ProjectJson)
const encodeProjectJson = Schema.encodeSync(ProjectJson)
const PageJson = Schema.parseJson(ProjectPage)
const decodePageJson = Schema.decodeUnknown(PageJson)
const encodePageJson = Schema.encodeSync(PageJson)

const notFound = new NotFound({ detail: "No such project" })

/** A project to insert, with its event prepared in the request that asked for it. */
interface NewProject {
  readonly row: Pick<ProjectRow, "id" | "name" | "description" | "ownerId">
  readonly event: PreparedEvent
}

/** Projects created at once are inserted by one statement, up to this many. */
const CREATE_BATCH_SIZE = 100

export interface ProjectsShape {
  readonly create: (
    actor: Actor,
    input: { readonly name: string; readonly description?: string | null | undefined }
  ) => Effect.Effect<Project, Forbidden>
  readonly get: (actor: Actor, id: string) => Effect.Effect<Project, NotFound>
  /** The project as its API JSON, answered from the cache when it holds it. */
  readonly getJson: (actor: Actor, id: string) => Effect.Effect<string, NotFound>
  readonly list: (actor: Actor, query: ListProjects) => Effect.Effect<ProjectPage, ValidationFailed>
  /** The page as its API JSON, answered from the cache when it holds it. */
  readonly listJson: (actor: Actor, query: ListProjects) => Effect.Effect<string, ValidationFailed>
  readonly update: (
    actor: Actor,
    id: string,
    changes: { readonly name?: string | undefined; readonly description?: string | null | undefined }
  ) => Effect.Effect<Project, Forbidden | NotFound>
  readonly remove: (actor: Actor, id: string) => Effect.Effect<void, Forbidden | NotFound>
  /** The project, if the actor may change it and its files: its owner (not a guest), a moderator or an admin. */
  readonly authorizeChange: (actor: Actor, id: string) => Effect.Effect<Project, Forbidden | NotFound>
}

export class Projects extends Context.Tag("app/Projects")<Projects, ProjectsShape>() {
  static readonly layer = Layer.effect(
    Projects,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const replica = yield* ReadReplica
      const cache = yield* Cache
      const events = yield* Events

      const queryProject = (id: string) =>
        Effect.flatMap(sql<ProjectRow>`select * from projects where id = ${id}`.pipe(Effect.orDie), ([row]) =>
          row === undefined ? Effect.fail(notFound) : Effect.succeed(encodeProjectJson(toProject(row)))
        )

      // No span of its own, as cache reads have none: most reads are answered from memory; a miss's query has one.
      const getJson = (_actor: Actor, id: string) =>
        readThrough(cache, projectKey(id), PROJECT_TTL, () => queryProject(id))
      const get = (actor: Actor, id: string) =>
        Effect.flatMap(getJson(actor, id), (json) => Effect.orDie(decodeProjectJson(json)))

      const authorizeChange = Effect.fn("Projects.authorizeChange")(function* (actor: Actor, id: string) {
        const project = yield* get(actor, id)
        const mayChange =
          actor.role === "admin" ||
          actor.role === "moderator" ||
          (actor.role === "user" && project.ownerId === actor.userId)
        if (!mayChange) return yield* new Forbidden({ detail: "Only the owner, a moderator or an admin may change it" })
        return project
      })

      const insertProjects = (batch: Arr.NonEmptyReadonlyArray<NewProject>) =>
        Effect.gen(function* () {
          const rows = yield* events.recordAllWith(
            sql<ProjectRow>`insert into projects ${sql.insert(batch.map((project) => project.row))} returning *`,
            Arr.map(batch, (project) => project.event)
          )
          yield* forgetListPages(cache)
          const byId = new Map(rows.map((row) => [row.id, row]))
          return batch.map((project) => byId.get(project.row.id))
        })
      const insertProject = yield* makeWriteBatches({
        write: insertProjects,
        maxBatchSize: CREATE_BATCH_SIZE,
        spanName: "Projects.insertBatch"
      })

      const create = Effect.fn("Projects.create")(function* (
        actor: Actor,
        input: { readonly name: string; readonly description?: string | null | undefined }
      ) {
        yield* requireRole(actor, ["admin", "moderator", "user"], "create projects")
        const id = uuidV7()
        const event = yield* events.prepare({
          _tag: "project.created",
          actor: actor.userId,
          payload: { projectId: id, ownerId: actor.userId, name: input.name }
        })
        const row = { id, name: input.name, description: input.description ?? null, ownerId: actor.userId }
        return toProject(yield* insertProject({ row, event }))
      })

      const queryPage = Effect.fn("Projects.list")(function* (query: ListProjects) {
        const after = yield* decodeCursor(query.cursor)
        const conditions = [
          ...(query.ownerId === undefined ? [] : [replica`owner_id = ${query.ownerId}`]),
          ...(query.q === undefined ? [] : [replica`name ilike ${likePattern(query.q)}`]),
          ...Option.match(after, {
            onNone: () => [],
            onSome: ([createdAt, id]) => [replica`(created_at, id) < (${createdAt}::timestamptz, ${id})`]
          })
        ]
        const rows = yield* replica<ProjectRow & { cursorAt: string }>`
          select *, created_at::text as cursor_at from projects
          where ${replica.and(conditions)}
          order by created_at desc, id desc
          limit ${query.limit + 1}`.pipe(Effect.orDie)
        const { page, nextCursor } = pageOf(rows, query.limit)
        return encodePageJson(new ProjectPage({ items: page.map(toProject), nextCursor }, fromRows))
      })

      // Every role sees the same pages, so one cached page serves every reader of that query.
      const listJson = (_actor: Actor, query: ListProjects) => readListPage(cache, query, () => queryPage(query))
      const list = (actor: Actor, query: ListProjects) =>
        Effect.flatMap(listJson(actor, query), (json) => Effect.orDie(decodePageJson(json)))

      const update = Effect.fn("Projects.update")(function* (
        actor: Actor,
        id: string,
        changes: { readonly name?: string | undefined; readonly description?: string | null | undefined }
      ) {
        yield* authorizeChange(actor, id)
        const assignments = {
          ...(changes.name === undefined ? {} : { name: changes.name }),
          ...(changes.description === undefined ? {} : { description: changes.description })
        }
        const row = yield* sql
          .withTransaction(
            Effect.gen(function* () {
              const [previous] = yield* sql<ProjectRow>`select * from projects where id = ${id} for update`
              if (previous === undefined) return undefined
              const [row] = yield* sql<ProjectRow>`
                update projects set ${sql.update({ ...assignments, updatedAt: new Date() })}
                where id = ${id} returning *`
              if (row === undefined) return undefined
              const changed = Object.keys(assignments) as ReadonlyArray<keyof typeof assignments>
              yield* events.record({
                _tag: "project.updated",
                actor: actor.userId,
                payload: {
                  projectId: id,
                  ownerId: row.ownerId,
                  changed,
                  before: Object.fromEntries(changed.map((field) => [field, previous[field]])),
                  after: Object.fromEntries(changed.map((field) => [field, row[field]]))
                }
              })
              return row
            })
          )
          .pipe(Effect.orDie)
        yield* forgetProjects(cache, [id])
        if (row === undefined) return yield* notFound
        return toProject(row)
      })

      const remove = Effect.fn("Projects.remove")(function* (actor: Actor, id: string) {
        yield* authorizeChange(actor, id)
        const deleted = yield* sql
          .withTransaction(
            Effect.gen(function* () {
              // Locked first, so an upload committing meanwhile (it holds the row FOR SHARE) finishes before
              // the keys are read, and its object is purged with the rest.
              yield* sql`select id from projects where id = ${id} for update`
              const files = yield* sql<{ storageKey: string }>`select storage_key from files where project_id = ${id}`
              const [row] = yield* sql<{ ownerId: string }>`delete from projects where id = ${id} returning owner_id`
              if (row === undefined) return false
              yield* events.record({
                _tag: "project.deleted",
                actor: actor.userId,
                payload: { projectId: id, ownerId: row.ownerId }
              })
              if (files.length > 0) {
                yield* events.record({
                  _tag: "storage.purge_requested",
                  actor: actor.userId,
                  payload: { keys: files.map((file) => file.storageKey), prefixes: [] }
                })
              }
              return true
            })
          )
          .pipe(Effect.orDie)
        yield* forgetProjects(cache, [id])
        if (!deleted) return yield* notFound
      })

      return Projects.of({ create, get, getJson, list, listJson, update, remove, authorizeChange })
    })
  )
}
