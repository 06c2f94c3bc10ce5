import { createHash, randomUUID } from "node:crypto"
import { dirname, join, resolve } from "node:path"
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { NodeFileSystem } from "@effect/platform-node"
import { Effect, Layer, Option, Schema, Stream, TReentrantLock } from "effect"
import {
  type ByteRange,
  isValidKey,
  isValidPrefix,
  ObjectNotFound,
  ObjectTooLarge,
  type PutOptions,
  RangeNotSatisfiable,
  Storage,
  StorageUnavailable,
  type StoredObject
} from "../storage.js"

const Metadata = Schema.parseJson(
  Schema.Struct({ size: Schema.NonNegativeInt, contentType: Schema.String, sha256: Schema.String })
)

const chunkSize = 64 * 1024

const checkKey = (key: string) =>
  isValidKey(key) ? Effect.void : Effect.dieMessage(`Invalid storage key ${JSON.stringify(key)}`)

const checkRange = (range: ByteRange | undefined) =>
  range === undefined ||
  (Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end) && range.start >= 0 && range.end >= range.start)
    ? Effect.void
    : Effect.dieMessage(`Invalid byte range ${range.start}-${range.end}`)

// BadResource is ENOTDIR or EISDIR: the path runs through an object's file, or stops at a prefix's directory.
const isAbsent = (error: PlatformError) =>
  error._tag === "SystemError" && (error.reason === "NotFound" || error.reason === "BadResource")

const orNone = <A, R>(self: Effect.Effect<A, PlatformError, R>): Effect.Effect<Option.Option<A>, PlatformError, R> =>
  self.pipe(
    Effect.asSome,
    Effect.catchIf(isAbsent, () => Effect.succeedNone)
  )

const unavailable = (reason: string) => (cause: unknown) => new StorageUnavailable({ reason, cause })

const segments = (key: string) => key.split("/").filter((segment) => segment !== "")

/** Identifies one version of a file for the lifetime of this process (inode numbers are not kept across restores). */
const identity = (info: FileSystem.File.Info) =>
  [info.dev, Option.getOrUndefined(info.ino), Option.getOrUndefined(info.mtime)?.getTime(), info.size].join(":")

const make = (directory: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const root = resolve(directory)
    const objectsDir = join(root, "objects")
    const metadataDir = join(root, "metadata")
    const tmpDir = join(root, "tmp")
    yield* Effect.forEach([objectsDir, metadataDir, tmpDir], (dir) => fs.makeDirectory(dir, { recursive: true }))
    const stale = (yield* fs.readDirectory(tmpDir)).filter((name) => name.startsWith(".tmp-"))
    yield* Effect.forEach(stale, (name) => fs.remove(join(tmpDir, name), { recursive: true, force: true }))

    // Commits and deletes rename or remove two files (data, then its sidecar); readers take the read lock so
    // they never pair one version's data with another's metadata.
    const lock = yield* TReentrantLock.make
    const exclusive = TReentrantLock.withWriteLock(lock)
    const shared = TReentrantLock.withReadLock(lock)

    const objectPath = (key: string) => join(objectsDir, ...segments(key))
    const metadataPath = (key: string) => join(metadataDir, ...segments(key))

    const writeDurably = (path: string, text: string) =>
      Effect.scoped(
        Effect.gen(function* () {
          const file = yield* fs.open(path, { flag: "wx" })
          yield* file.writeAll(new TextEncoder().encode(text))
          yield* file.sync
        })
      )

    const findObject = (key: string) =>
      Effect.gen(function* () {
        const found = yield* shared(
          orNone(Effect.all([fs.readFileString(metadataPath(key)), fs.stat(objectPath(key))]))
        ).pipe(Effect.mapError(unavailable("could not read the object's metadata")))
        if (Option.isNone(found)) return Option.none()
        const [text, info] = found.value
        const metadata = yield* Schema.decode(Metadata)(text).pipe(
          Effect.mapError(unavailable("the object's metadata is corrupt"))
        )
        // A size that disagrees is a commit torn by a crash: that object never completed.
        if (info.type !== "File" || Number(info.size) !== metadata.size) return Option.none()
        const object: StoredObject = { key, ...metadata }
        return Option.some({ object, version: identity(info) })
      })

    const readBody = (key: string, version: string, offset: number, length: number) =>
      Stream.unwrapScoped(
        Effect.gen(function* () {
          const file = yield* fs.open(objectPath(key), { flag: "r" })
          if (identity(yield* file.stat) !== version) {
            return yield* new StorageUnavailable({ reason: "the object changed before its body was read" })
          }
          yield* file.seek(offset, "start")
          return Stream.unfoldEffect(length, (remaining) =>
            remaining === 0
              ? Effect.succeedNone
              : file
                  .readAlloc(Math.min(chunkSize, remaining))
                  .pipe(Effect.map(Option.map((bytes) => [bytes, remaining - bytes.length] as const)))
          )
        })
      ).pipe(
        Stream.mapError((error) =>
          error._tag === "StorageUnavailable"
            ? error
            : new StorageUnavailable({ reason: "could not read the object", cause: error })
        )
      )

    const removeFile = (path: string) =>
      fs.stat(path).pipe(
        Effect.flatMap((info) => (info.type === "File" ? Effect.as(fs.remove(path), true) : Effect.succeed(false))),
        Effect.catchIf(isAbsent, () => Effect.succeed(false))
      )

    const removeObject = (key: string) =>
      exclusive(Effect.zipRight(removeFile(metadataPath(key)), removeFile(objectPath(key))))

    const removeIfEmpty = (dir: string) =>
      fs.readDirectory(dir).pipe(
        Effect.flatMap((names) => (names.length === 0 ? fs.remove(dir, { recursive: true }) : Effect.void)),
        Effect.catchIf(isAbsent, () => Effect.void)
      )

    // Directories are removed under the write lock, which commits also hold while they create them.
    const prune = (relative: string) =>
      exclusive(
        Effect.zipRight(
          removeIfEmpty(join(objectsDir, ...segments(relative))),
          removeIfEmpty(join(metadataDir, ...segments(relative)))
        )
      )

    const deleteUnder = (relative: string, prefix: string): Effect.Effect<number, PlatformError> =>
      Effect.gen(function* () {
        const dir = join(objectsDir, ...segments(relative))
        const names = yield* fs.readDirectory(dir).pipe(Effect.catchIf(isAbsent, () => Effect.succeed([])))
        let removed = 0
        for (const name of names) {
          const key = relative + name
          const info = yield* orNone(fs.stat(join(dir, name)))
          if (Option.isNone(info)) continue
          if (info.value.type === "Directory" && `${key}/`.startsWith(prefix)) {
            removed += yield* deleteUnder(`${key}/`, prefix)
          } else if (info.value.type === "File" && key.startsWith(prefix) && (yield* removeObject(key))) {
            removed += 1
          }
        }
        if (relative !== "") yield* prune(relative)
        return removed
      })

    const put = <E>(key: string, body: Stream.Stream<Uint8Array, E>, options: PutOptions) =>
      Effect.gen(function* () {
        yield* checkKey(key)
        const temp = join(tmpDir, `.tmp-${randomUUID()}`)
        const tempMetadata = `${temp}.json`
        const hash = createHash("sha256")
        let size = 0
        const metered = Stream.tap(body, (chunk) =>
          Effect.suspend(() => {
            size += chunk.byteLength
            if (options.maxBytes !== undefined && size > options.maxBytes) {
              return new ObjectTooLarge({ maxBytes: options.maxBytes })
            }
            hash.update(chunk)
            return Effect.void
          })
        )
        return yield* Effect.gen(function* () {
          yield* Effect.scoped(
            Effect.gen(function* () {
              const file = yield* fs
                .open(temp, { flag: "wx" })
                .pipe(Effect.mapError(unavailable("could not create a temporary file")))
              yield* Stream.runForEach(metered, (chunk) =>
                file.writeAll(chunk).pipe(Effect.mapError(unavailable("could not write the object")))
              )
              yield* file.sync.pipe(Effect.mapError(unavailable("could not write the object")))
            })
          )
          const object: StoredObject = { key, size, contentType: options.contentType, sha256: hash.digest("hex") }
          yield* writeDurably(
            tempMetadata,
            JSON.stringify({ size: object.size, contentType: object.contentType, sha256: object.sha256 })
          ).pipe(Effect.mapError(unavailable("could not write the object's metadata")))
          yield* exclusive(
            Effect.gen(function* () {
              yield* fs.makeDirectory(dirname(objectPath(key)), { recursive: true })
              yield* fs.makeDirectory(dirname(metadataPath(key)), { recursive: true })
              yield* fs.rename(temp, objectPath(key))
              yield* fs.rename(tempMetadata, metadataPath(key))
            })
          ).pipe(Effect.mapError(unavailable("could not commit the object")))
          return object
        }).pipe(
          Effect.ensuring(
            Effect.all([fs.remove(temp, { force: true }), fs.remove(tempMetadata, { force: true })]).pipe(Effect.ignore)
          )
        )
      }).pipe(Effect.withSpan("Storage.put", { attributes: { key } }))

    const get = Effect.fn("Storage.get")(function* (key: string, range?: ByteRange) {
      yield* checkKey(key)
      yield* checkRange(range)
      const found = yield* findObject(key)
      if (Option.isNone(found)) return yield* new ObjectNotFound({ key })
      const { object, version } = found.value
      if (range === undefined) {
        return { object, range: Option.none(), body: readBody(key, version, 0, object.size) }
      }
      if (range.start >= object.size) return yield* new RangeNotSatisfiable({ size: object.size })
      const served = { start: range.start, end: Math.min(range.end, object.size - 1) }
      return {
        object,
        range: Option.some(served),
        body: readBody(key, version, served.start, served.end - served.start + 1)
      }
    })

    const head = Effect.fn("Storage.head")(function* (key: string) {
      yield* checkKey(key)
      return Option.map(yield* findObject(key), ({ object }) => object)
    })

    const remove = Effect.fn("Storage.delete")(function* (key: string) {
      yield* checkKey(key)
      yield* removeObject(key).pipe(Effect.mapError(unavailable("could not delete the object")))
    })

    const deleteByPrefix = Effect.fn("Storage.deleteByPrefix")(function* (prefix: string) {
      if (!isValidPrefix(prefix)) return yield* Effect.dieMessage(`Invalid storage prefix ${JSON.stringify(prefix)}`)
      return yield* deleteUnder(prefix.slice(0, prefix.lastIndexOf("/") + 1), prefix).pipe(
        Effect.mapError(unavailable("could not delete the objects"))
      )
    })

    const ping = Effect.gen(function* () {
      const probe = join(tmpDir, `.tmp-ping-${randomUUID()}`)
      yield* fs.writeFile(probe, new Uint8Array())
      yield* fs.remove(probe)
    }).pipe(Effect.mapError(unavailable("the storage directory is not writable")), Effect.withSpan("Storage.ping"))

    return Storage.of({
      put,
      get,
      head,
      delete: remove,
      deleteByPrefix,
      signedUrl: (key) => Effect.as(checkKey(key), Option.none()),
      ping
    })
  }).pipe(Effect.orDie)

/** Objects as files under `directory`, each with a JSON sidecar; writes land in `tmp/` and are renamed into place. */
export const makeStorageFiles = (directory: string): Layer.Layer<Storage> =>
  Layer.effect(Storage, make(directory)).pipe(Layer.provide(NodeFileSystem.layer))
