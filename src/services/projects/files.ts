import { SqlClient } from "@effect/sql"
import { Context, DateTime, Duration, Effect, Layer, Option, Schedule, Stream } from "effect"
import { randomUUID } from "node:crypto"
import { AppConfig } from "../../layers/config.js"
import { ReadReplica } from "../../layers/database.js"
import { type ByteRange, ObjectTooLarge, Storage, StorageUnavailable, type StoredObject } from "../../layers/storage.js"
import {
  FieldProblem,
  type Forbidden,
  NotFound,
  PayloadTooLarge,
  RangeNotSatisfiable,
  UnsupportedMediaType,
  ValidationFailed
} from "../errors.js"
import { Events } from "../events/events.js"
import type { Actor } from "../identity/current-user.js"
import { decodeCursor, pageOf } from "../pagination.js"
import { FilePage, ProjectFile } from "./file-schema.js"
import { Projects } from "./projects.js"
import { fromRows } from "../schema.js"

interface FileRow {
  readonly id: string
  readonly projectId: string
  readonly name: string
  readonly contentType: string
  /** bigint: a string from either driver. */
  readonly size: string | number
  readonly sha256: string
  readonly storageKey: string
  readonly createdAt: Date
}

const toFile = (row: FileRow) =>
  new ProjectFile(
    {
      id: row.id,
      projectId: row.projectId,
      name: row.name,
      contentType: row.contentType,
      size: Number(row.size),
      sha256: row.sha256,
      createdAt: DateTime.unsafeFromDate(row.createdAt)
    },
    fromRows
  )

const notFound = new NotFound({ detail: "No such file" })
const projectNotFound = new NotFound({ detail: "No such project" })

/** Longer than any upload may take: a reservation this old belongs to an upload that will never commit. */
const ABANDONED_AFTER = Duration.hours(1)
const SWEEP_EVERY = Duration.minutes(5)
const SWEEP_BATCH = 500
const SIGNED_URL_TTL = Duration.minutes(5)

/**
 * The name is only displayed and sent back in Content-Disposition: the last path segment a client sent (browsers
 * and tools send `C:\dir\photo.jpg` or `dir/photo.jpg`), without control or invisible formatting characters (bidi
 * overrides disguise extensions), at most 255 characters.
 */
const sanitizeFileName = (raw: string) => {
  const base = raw.normalize("NFC").split(/[/\\]/).pop() ?? ""
  const visible = base.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, "").trim()
  return Array.from(visible).slice(0, 255).join("").trim()
}

const MEDIA_TYPE =
  /^[a-z0-9][\w!#$&^.+-]{0,126}\/[a-z0-9][\w!#$&^.+-]{0,126}(\s*;\s*[\w!#$&^.+-]+=("[^"\\]*"|[\w!#$&^.+-]+))*$/i

const invalidName = new ValidationFailed({
  detail: "The file name is empty once path separators and control characters are removed",
  errors: [new FieldProblem({ path: "name", message: "must name a file" })]
})

export interface UploadInput<E> {
  /** As the client sent it; sanitised here. */
  readonly name: string
  readonly contentType: string | undefined
  /** The declared Content-Length, so an upload over the limit is refused before it is read. */
  readonly declaredSize: number | undefined
  readonly body: Stream.Stream<Uint8Array, E>
}

export interface FileDownload {
  readonly file: ProjectFile
  /** The bytes, or one range of them; run the body once, since it holds storage open until it ends. */
  readonly read: (
    range?: ByteRange
  ) => Effect.Effect<
    { readonly range: Option.Option<ByteRange>; readonly body: Stream.Stream<Uint8Array> },
    NotFound | RangeNotSatisfiable
  >
  /** A short-lived URL serving the bytes directly: with STORAGE_REDIRECTS on a backend that signs URLs. */
  readonly redirect: Effect.Effect<Option.Option<string>>
}

export interface FilesShape {
  readonly upload: <E>(
    actor: Actor,
    projectId: string,
    input: UploadInput<E>
  ) => Effect.Effect<ProjectFile, Forbidden | NotFound | PayloadTooLarge | UnsupportedMediaType | ValidationFailed | E>
  readonly list: (
    actor: Actor,
    projectId: string,
    query: { readonly limit: number; readonly cursor?: string | undefined }
  ) => Effect.Effect<FilePage, NotFound | ValidationFailed>
  readonly get: (actor: Actor, id: string) => Effect.Effect<ProjectFile, NotFound>
  readonly download: (actor: Actor, id: string) => Effect.Effect<FileDownload, NotFound>
  readonly remove: (actor: Actor, id: string) => Effect.Effect<void, Forbidden | NotFound>
  /** Hands the objects of uploads reserved longer than `olderThan` ago to the storage purge; returns how many. */
  readonly purgeAbandonedUploads: (olderThan: Duration.DurationInput) => Effect.Effect<number>
}

export class Files extends Context.Tag("app/Files")<Files, FilesShape>() {
  static readonly layer = Layer.effect(
    Files,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const replica = yield* ReadReplica
      const storage = yield* Storage
      const events = yield* Events
      const projects = yield* Projects
      const { uploadMaxBytes, storageRedirects } = yield* AppConfig
      const tooLarge = new PayloadTooLarge({
        detail: `The file exceeds the upload limit of ${uploadMaxBytes} bytes`,
        limit: uploadMaxBytes
      })

      const load = Effect.fn("Files.load")(function* (id: string) {
        const [row] = yield* sql<FileRow>`select * from files where id = ${id}`.pipe(Effect.orDie)
        return row === undefined ? yield* notFound : row
      })

      const purgeRequested = (keys: ReadonlyArray<string>, actor: string | null) =>
        events.record({ _tag: "storage.purge_requested", actor, payload: { keys, prefixes: [] } })

      /*
       * Why uploads reserve their key: the object is stored before its row (a row must never point at bytes
       * that are not there), so a failure in between (the row's transaction failing, the request interrupted,
       * the process dying) would leave an object nothing points at. The reservation, written before the first
       * byte, is that pointer. The commit deletes it in the transaction that inserts the row; a failed upload
       * turns it into a storage purge event in one transaction (the row lock waits out a commit whose answer
       * was lost, so a file that did commit is never purged) and deletes the object at once as well, the event
       * being the retried fallback; and when even that cannot run, the sweeper purges reservations older than
       * any upload may take.
       */
      const abandon = (storageKey: string, actor: string) =>
        Effect.gen(function* () {
          const reserved = yield* sql.withTransaction(
            Effect.gen(function* () {
              const deleted = yield* sql`delete from pending_uploads where storage_key = ${storageKey} returning 1`
              if (deleted.length > 0) yield* purgeRequested([storageKey], actor)
              return deleted.length > 0
            })
          )
          if (reserved) yield* storage.delete(storageKey)
        }).pipe(
          Effect.catchAllCause((cause) =>
            Effect.logWarning("A failed upload's object is left to the storage purge or the sweeper", cause)
          ),
          Effect.withSpan("Files.abandon")
        )

      const commit = (actor: Actor, projectId: string, id: string, name: string, stored: StoredObject) =>
        sql
          .withTransaction(
            Effect.gen(function* () {
              // A deletion of the project that locks its row first waits for this file, and then purges it too.
              const project = yield* sql`select id from projects where id = ${projectId} for share`
              if (project.length === 0) return yield* projectNotFound
              const reserved = yield* sql`delete from pending_uploads where storage_key = ${stored.key} returning 1`
              if (reserved.length === 0) {
                return yield* Effect.dieMessage(`The upload to ${stored.key} outlived its reservation`)
              }
              const [row] = yield* sql<FileRow>`insert into files ${sql.insert({
                id,
                projectId,
                name,
                contentType: stored.contentType,
                size: stored.size,
                sha256: stored.sha256,
                storageKey: stored.key
              })} returning *`
              yield* events.record({
                _tag: "file.uploaded",
                actor: actor.userId,
                payload: { fileId: id, projectId, size: stored.size, contentType: stored.contentType }
              })
              return toFile(row!)
            })
          )
          .pipe(Effect.catchTag("SqlError", Effect.die))

      const upload = <E>(actor: Actor, projectId: string, input: UploadInput<E>) =>
        Effect.gen(function* () {
          const contentType = input.contentType?.trim() ?? ""
          if (contentType === "") {
            return yield* new UnsupportedMediaType({ detail: "Send the file with its Content-Type" })
          }
          if (contentType.length > 255 || !MEDIA_TYPE.test(contentType)) {
            return yield* new UnsupportedMediaType({ detail: "The Content-Type is not a valid media type" })
          }
          const name = sanitizeFileName(input.name)
          if (name === "" || name === "." || name === "..") return yield* invalidName
          if (input.declaredSize !== undefined && input.declaredSize > uploadMaxBytes) return yield* tooLarge
          yield* projects.authorizeChange(actor, projectId)

          const id = randomUUID()
          const storageKey = `projects/${projectId}/files/${id}`
          yield* sql`insert into pending_uploads ${sql.insert({ storageKey })}`.pipe(Effect.orDie)
          return yield* storage.put(storageKey, input.body, { contentType, maxBytes: uploadMaxBytes }).pipe(
            Effect.catchAll((error): Effect.Effect<never, E | PayloadTooLarge> =>
              error instanceof ObjectTooLarge
                ? Effect.fail(tooLarge)
                : error instanceof StorageUnavailable
                  ? Effect.die(error)
                  : Effect.fail(error)
            ),
            Effect.flatMap((stored) => commit(actor, projectId, id, name, stored)),
            Effect.onError(() => abandon(storageKey, actor.userId))
          )
        }).pipe(Effect.withSpan("Files.upload", { attributes: { projectId } }))

      const list = Effect.fn("Files.list")(function* (
        actor: Actor,
        projectId: string,
        query: { readonly limit: number; readonly cursor?: string | undefined }
      ) {
        yield* projects.get(actor, projectId)
        const after = yield* decodeCursor(query.cursor)
        const conditions = [
          replica`project_id = ${projectId}`,
          ...Option.match(after, {
            onNone: () => [],
            onSome: ([createdAt, id]) => [replica`(created_at, id) < (${createdAt}::timestamptz, ${id})`]
          })
        ]
        const rows = yield* replica<FileRow & { cursorAt: string }>`
          select *, created_at::text as cursor_at from files
          where ${replica.and(conditions)}
          order by created_at desc, id desc
          limit ${query.limit + 1}`.pipe(Effect.orDie)
        const { page, nextCursor } = pageOf(rows, query.limit)
        return new FilePage({ items: page.map(toFile), nextCursor }, fromRows)
      })

      const get = (_actor: Actor, id: string) => Effect.map(load(id), toFile)

      const download = Effect.fn("Files.download")(function* (_actor: Actor, id: string) {
        const row = yield* load(id)
        const read = (range?: ByteRange) =>
          storage.get(row.storageKey, range).pipe(
            Effect.map((content) => ({ range: content.range, body: Stream.orDie(content.body) })),
            Effect.catchTags({
              ObjectNotFound: () => notFound,
              RangeNotSatisfiable: ({ size }) =>
                new RangeNotSatisfiable({ detail: `The file has ${size} bytes; no byte of the range exists`, size }),
              StorageUnavailable: Effect.die
            }),
            Effect.withSpan("Files.read")
          )
        const redirect = storageRedirects
          ? storage.signedUrl(row.storageKey, SIGNED_URL_TTL).pipe(Effect.orDie)
          : Effect.succeedNone
        return { file: toFile(row), read, redirect } satisfies FileDownload
      })

      const remove = Effect.fn("Files.remove")(function* (actor: Actor, id: string) {
        const row = yield* load(id)
        yield* projects.authorizeChange(actor, row.projectId)
        const deleted = yield* sql
          .withTransaction(
            Effect.gen(function* () {
              const [deleted] = yield* sql<{ storageKey: string }>`
                delete from files where id = ${id} returning storage_key`
              if (deleted === undefined) return false
              yield* events.record({
                _tag: "file.deleted",
                actor: actor.userId,
                payload: { fileId: id, projectId: row.projectId }
              })
              yield* purgeRequested([deleted.storageKey], actor.userId)
              return true
            })
          )
          .pipe(Effect.orDie)
        if (!deleted) return yield* notFound
      })

      const purgeAbandonedUploads = Effect.fn("Files.purgeAbandonedUploads")(function* (
        olderThan: Duration.DurationInput
      ) {
        const seconds = Duration.toSeconds(Duration.decode(olderThan))
        let purged = 0
        for (;;) {
          const keys = yield* sql
            .withTransaction(
              Effect.gen(function* () {
                const rows = yield* sql<{ storageKey: string }>`
                  delete from pending_uploads where storage_key in (
                    select storage_key from pending_uploads
                    where created_at < now() - make_interval(secs => ${seconds})
                    order by created_at limit ${SWEEP_BATCH}
                    for update skip locked)
                  returning storage_key`
                const keys = rows.map((row) => row.storageKey)
                if (keys.length > 0) yield* purgeRequested(keys, null)
                return keys
              })
            )
            .pipe(Effect.orDie)
          purged += keys.length
          if (keys.length < SWEEP_BATCH) return purged
        }
      })

      return Files.of({ upload, list, get, download, remove, purgeAbandonedUploads })
    })
  )
}

/** Purges what crashed uploads left behind: at start-up, then every few minutes. */
export const AbandonedUploadsSweeper = Layer.scopedDiscard(
  Effect.flatMap(Files, (files) =>
    files.purgeAbandonedUploads(ABANDONED_AFTER).pipe(
      Effect.tap((purged) => (purged > 0 ? Effect.logInfo("Purged abandoned uploads", purged) : Effect.void)),
      Effect.catchAllCause((cause) => Effect.logWarning("Sweeping abandoned uploads failed", cause)),
      Effect.repeat(Schedule.spaced(SWEEP_EVERY)),
      Effect.forkScoped
    )
  )
)
