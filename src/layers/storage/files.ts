import { createHash, randomBytes, randomUUID } from "node:crypto"
import { dirname, join, resolve } from "node:path"
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { NodeFileSystem } from "@effect/platform-node"
import { Effect, Layer, Option, Schema, Stream, TReentrantLock } from "effect"
import { Cipher } from "../cipher.js"
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
  meterStorage,
  type StoredObject
} from "../storage.js"

/**
 * Objects are sealed at rest with AES-256-GCM through the Cipher key ring, in segments of 64 KiB of plaintext
 * (the last one may be shorter; an empty object is one empty segment). Each segment is its own Cipher message,
 * with its own nonce and tag, and its associated data binds the object's random id, its key, the segment's index
 * and whether it is the last one: a flipped byte, a dropped tail, segments swapped or spliced in from another
 * object or another version of the same key all fail authentication. A Range read seeks straight to the segment
 * holding its first byte. The sidecar, sealed too and bound to the key, holds the id and both sizes; every
 * segment carries the same overhead (an object is sealed under one encryption key), so the sizes give each
 * segment's offset.
 */
const SEGMENT_BYTES = 64 * 1024
const SEGMENT_LABEL = Buffer.from("plinth/storage/segment/v1\0")
const METADATA_LABEL = Buffer.from("plinth/storage/metadata/v1\0")

const Metadata = Schema.parseJson(
  Schema.Struct({
    format: Schema.Literal(1),
    objectId: Schema.String.pipe(Schema.pattern(/^[0-9a-f]{32}$/)),
    size: Schema.NonNegativeInt,
    storedSize: Schema.NonNegativeInt,
    contentType: Schema.String,
    sha256: Schema.String
  })
)
type Metadata = typeof Metadata.Type

const segmentCount = (size: number) => Math.max(1, Math.ceil(size / SEGMENT_BYTES))

const segmentAad = (objectId: Uint8Array, key: string, index: number, final: boolean) => {
  const keyBytes = Buffer.from(key, "utf8")
  const fields = Buffer.alloc(4 + keyBytes.length + 8 + 1)
  fields.writeUInt32BE(keyBytes.length, 0)
  keyBytes.copy(fields, 4)
  fields.writeBigUInt64BE(BigInt(index), 4 + keyBytes.length)
  fields[fields.length - 1] = final ? 1 : 0
  return Buffer.concat([SEGMENT_LABEL, objectId, fields])
}

const metadataAad = (key: string) => Buffer.concat([METADATA_LABEL, Buffer.from(key, "utf8")])

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
    const cipher = yield* Cipher
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

    const writeDurably = (path: string, bytes: Uint8Array) =>
      Effect.scoped(
        Effect.gen(function* () {
          const file = yield* fs.open(path, { flag: "wx" })
          yield* file.writeAll(bytes)
          yield* file.sync
        })
      )

    const findObject = (key: string) =>
      Effect.gen(function* () {
        const found = yield* shared(
          orNone(Effect.all([fs.readFile(metadataPath(key)), fs.stat(objectPath(key))]))
        ).pipe(Effect.mapError(unavailable("could not read the object's metadata")))
        if (Option.isNone(found)) return Option.none()
        const [sealed, info] = found.value
        const metadata = yield* cipher.decryptBytes(sealed, metadataAad(key)).pipe(
          Effect.map((bytes) => Buffer.from(bytes).toString("utf8")),
          Effect.flatMap(Schema.decode(Metadata)),
          Effect.mapError(unavailable("the object's metadata is corrupt or was altered"))
        )
        // A size that disagrees is a commit torn by a crash: that object never completed.
        if (info.type !== "File" || Number(info.size) !== metadata.storedSize) return Option.none()
        const object: StoredObject = {
          key,
          size: metadata.size,
          contentType: metadata.contentType,
          sha256: metadata.sha256
        }
        return Option.some({ object, metadata, version: identity(info) })
      })

    const readExactly = (file: FileSystem.File, length: number) =>
      Effect.gen(function* () {
        const parts: Array<Uint8Array> = []
        let read = 0
        while (read < length) {
          const part = yield* file.readAlloc(length - read)
          if (Option.isNone(part)) return yield* new StorageUnavailable({ reason: "the object is truncated" })
          parts.push(part.value)
          read += part.value.length
        }
        return parts.length === 1 ? parts[0]! : Buffer.concat(parts)
      })

    /** Decrypts the segments that hold plaintext bytes `start` to `end` (inclusive; `end` is -1 for nothing). */
    const readBody = (key: string, metadata: Metadata, version: string, start: number, end: number) =>
      Stream.unwrapScoped(
        Effect.gen(function* () {
          const count = segmentCount(metadata.size)
          const overhead = (metadata.storedSize - metadata.size) / count
          if (!Number.isSafeInteger(overhead) || overhead <= 0) {
            return yield* new StorageUnavailable({ reason: "the object's sizes do not match its format" })
          }
          const objectId = Buffer.from(metadata.objectId, "hex")
          const first = Math.floor(start / SEGMENT_BYTES)
          const last = end < start ? count - 1 : Math.floor(end / SEGMENT_BYTES)
          const plaintextLength = (index: number) =>
            index < count - 1 ? SEGMENT_BYTES : metadata.size - index * SEGMENT_BYTES
          const file = yield* fs.open(objectPath(key), { flag: "r" })
          if (identity(yield* file.stat) !== version) {
            return yield* new StorageUnavailable({ reason: "the object changed before its body was read" })
          }
          yield* file.seek(first * (SEGMENT_BYTES + overhead), "start")
          return Stream.unfoldEffect(first, (index) =>
            index > last
              ? Effect.succeedNone
              : readExactly(file, plaintextLength(index) + overhead).pipe(
                  Effect.flatMap((sealed) =>
                    cipher.decryptBytes(sealed, segmentAad(objectId, key, index, index === count - 1))
                  ),
                  Effect.mapError((error) =>
                    error._tag === "DecryptionFailed"
                      ? new StorageUnavailable({ reason: "the object failed authentication: altered or corrupt" })
                      : error
                  ),
                  Effect.map((plaintext) => {
                    const offset = index * SEGMENT_BYTES
                    const from = Math.max(start - offset, 0)
                    const to = Math.min(end - offset + 1, plaintext.length)
                    return Option.some([plaintext.subarray(from, Math.max(from, to)), index + 1] as const)
                  })
                )
          )
        })
      ).pipe(
        Stream.filter((bytes) => bytes.length > 0),
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

    /** Seals the plaintext written to it into segments; a full segment is sealed once more bytes follow it. */
    const segmentWriter = (
      key: string,
      objectId: Uint8Array,
      write: (sealed: Uint8Array) => Effect.Effect<void, StorageUnavailable>
    ) => {
      const segment = Buffer.allocUnsafe(SEGMENT_BYTES)
      let filled = 0
      let index = 0
      let storedSize = 0
      const seal = (final: boolean) =>
        Effect.flatMap(
          cipher.encryptBytes(segment.subarray(0, filled), segmentAad(objectId, key, index, final)),
          (sealed) => {
            index += 1
            filled = 0
            storedSize += sealed.length
            return write(sealed)
          }
        )
      const push = (chunk: Uint8Array) =>
        Effect.gen(function* () {
          let offset = 0
          while (offset < chunk.length) {
            if (filled === SEGMENT_BYTES) yield* seal(false)
            const taken = Math.min(SEGMENT_BYTES - filled, chunk.length - offset)
            segment.set(chunk.subarray(offset, offset + taken), filled)
            filled += taken
            offset += taken
          }
        })
      const finish = Effect.suspend(() => seal(true)).pipe(Effect.map(() => storedSize))
      return { push, finish }
    }

    const put = <E>(key: string, body: Stream.Stream<Uint8Array, E>, options: PutOptions) =>
      Effect.gen(function* () {
        yield* checkKey(key)
        const temp = join(tmpDir, `.tmp-${randomUUID()}`)
        const tempMetadata = `${temp}.meta`
        const objectId = randomBytes(16)
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
          const storedSize = yield* Effect.scoped(
            Effect.gen(function* () {
              const file = yield* fs
                .open(temp, { flag: "wx" })
                .pipe(Effect.mapError(unavailable("could not create a temporary file")))
              const writer = segmentWriter(key, objectId, (sealed) =>
                file.writeAll(sealed).pipe(Effect.mapError(unavailable("could not write the object")))
              )
              yield* Stream.runForEach(metered, writer.push)
              const storedSize = yield* writer.finish
              yield* file.sync.pipe(Effect.mapError(unavailable("could not write the object")))
              return storedSize
            })
          )
          const object: StoredObject = { key, size, contentType: options.contentType, sha256: hash.digest("hex") }
          const metadata = Schema.encodeSync(Metadata)({
            format: 1,
            objectId: objectId.toString("hex"),
            size,
            storedSize,
            contentType: object.contentType,
            sha256: object.sha256
          })
          const sealedMetadata = yield* cipher.encryptBytes(Buffer.from(metadata, "utf8"), metadataAad(key))
          yield* writeDurably(tempMetadata, sealedMetadata).pipe(
            Effect.mapError(unavailable("could not write the object's metadata"))
          )
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
      const { object, metadata, version } = found.value
      if (range === undefined) {
        return { object, range: Option.none(), body: readBody(key, metadata, version, 0, object.size - 1) }
      }
      if (range.start >= object.size) return yield* new RangeNotSatisfiable({ size: object.size })
      const served = { start: range.start, end: Math.min(range.end, object.size - 1) }
      return {
        object,
        range: Option.some(served),
        body: readBody(key, metadata, version, served.start, served.end)
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

    return Storage.of(
      meterStorage({
        put,
        get,
        head,
        delete: remove,
        deleteByPrefix,
        signedUrl: (key) => Effect.as(checkKey(key), Option.none()),
        ping
      })
    )
  }).pipe(Effect.orDie)

/**
 * Objects as files under `directory`, encrypted, each with a sealed metadata sidecar; writes land in `tmp/` and
 * are renamed into place.
 */
export const makeStorageFiles = (directory: string): Layer.Layer<Storage, never, Cipher> =>
  Layer.effect(Storage, make(directory)).pipe(Layer.provide(NodeFileSystem.layer))
