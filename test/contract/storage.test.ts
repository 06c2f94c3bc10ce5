import { createHash, randomBytes, randomUUID } from "node:crypto"
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs"
import { rm } from "node:fs/promises"
import { join } from "node:path"
import { ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import { assert, describe, it, layer } from "@effect/vitest"
import { Cause, Chunk, Context, Data, Deferred, Effect, Exit, Fiber, Layer, Option, Redacted, Stream } from "effect"
import { makeCipherAesGcm } from "../../src/layers/crypto/aes-gcm.js"
import { Storage } from "../../src/layers/storage.js"
import { makeStorageFiles } from "../../src/layers/storage/files.js"
import { makeStorageS3 } from "../../src/layers/storage/s3.js"
import { startS3rver } from "../support/s3rver.js"
import { tempDir } from "../support/settings.js"

const MiB = 1024 * 1024

interface Backend {
  /** What a failed put could leave behind: temporary files, or multipart uploads and temporary objects. */
  readonly leftovers: Effect.Effect<ReadonlyArray<string>>
  readonly signsUrls: boolean
}

class StorageBackend extends Context.Tag("test/StorageBackend")<StorageBackend, Backend>() {}

class BodyBroke extends Data.TaggedError("BodyBroke") {}

/** The key ring files on disk are sealed with; one key for the whole run, so reopened directories still decrypt. */
const TestCipher = makeCipherAesGcm([{ kid: "contract", key: randomBytes(32) }])

const filesStorage = (directory: string) => makeStorageFiles(directory).pipe(Layer.provide(TestCipher))

const scopedTempDir = Effect.acquireRelease(
  Effect.sync(() => tempDir("storage")),
  (directory) => Effect.promise(() => rm(directory, { recursive: true, force: true }))
)

const FilesBackend = Layer.unwrapScoped(
  Effect.map(scopedTempDir, (directory) =>
    Layer.merge(
      filesStorage(directory),
      Layer.succeed(StorageBackend, {
        leftovers: Effect.sync(() => readdirSync(join(directory, "tmp"))),
        signsUrls: false
      })
    )
  )
)

const testClient = (settings: { readonly endpoint: string }) =>
  Effect.acquireRelease(
    Effect.sync(
      () =>
        new S3Client({
          endpoint: settings.endpoint,
          region: "us-east-1",
          forcePathStyle: true,
          credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
          requestChecksumCalculation: "WHEN_REQUIRED",
          responseChecksumValidation: "WHEN_REQUIRED"
        })
    ),
    (client) => Effect.sync(() => client.destroy())
  )

const s3rver = Effect.acquireRelease(Effect.promise(startS3rver), (server) => Effect.promise(server.close))

const S3Backend = Layer.unwrapScoped(
  Effect.gen(function* () {
    const server = yield* s3rver
    const client = yield* testClient(server)
    const Bucket = server.bucket
    const leftovers = Effect.promise(async () => {
      const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket }))
      const temporary = await client.send(new ListObjectsV2Command({ Bucket, Prefix: ".tmp-" }))
      return [
        ...(uploads.Uploads ?? []).map((upload) => `multipart upload ${upload.Key}`),
        ...(temporary.Contents ?? []).map((object) => `object ${object.Key}`)
      ]
    })
    return Layer.merge(makeStorageS3(server.settings), Layer.succeed(StorageBackend, { leftovers, signsUrls: true }))
  })
)

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

const chunksOf = (bytes: Uint8Array, size: number) =>
  Stream.fromIterable(
    Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size))
  )

const collect = <E>(body: Stream.Stream<Uint8Array, E>) =>
  Effect.map(Stream.runCollect(body), (chunks) => Buffer.concat(Chunk.toArray(chunks)))

const freshPrefix = () => `contract/${randomUUID()}/`

const pattern = (length: number) => Uint8Array.from({ length }, (_, i) => (i * 7 + 3) % 251)

describe.each([
  { name: "files", backend: FilesBackend },
  { name: "s3 (s3rver)", backend: S3Backend }
])("Storage contract: $name", ({ backend }) => {
  layer(backend, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
    it.effect("put then get round-trips a multi-megabyte body built from several chunks", () =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const bytes = randomBytes(12 * MiB + 12345)
        const key = `${freshPrefix()}big.bin`
        const stored = yield* storage.put(key, chunksOf(bytes, MiB), { contentType: "application/x-test" })
        assert.deepStrictEqual(stored, {
          key,
          size: bytes.length,
          contentType: "application/x-test",
          sha256: sha256(bytes)
        })
        const content = yield* storage.get(key)
        assert.deepStrictEqual(content.object, stored)
        assert.isTrue(Option.isNone(content.range))
        const read = yield* collect(content.body)
        assert.strictEqual(read.length, bytes.length)
        assert.strictEqual(sha256(read), sha256(bytes))
      })
    )

    it.effect("an empty body is an object of size 0", () =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const key = `${freshPrefix()}empty`
        const stored = yield* storage.put(key, Stream.empty, { contentType: "text/plain" })
        assert.strictEqual(stored.size, 0)
        assert.strictEqual(stored.sha256, sha256(new Uint8Array()))
        const content = yield* storage.get(key)
        assert.strictEqual((yield* collect(content.body)).length, 0)
        const error = yield* Effect.flip(storage.get(key, { start: 0, end: 0 }))
        assert.strictEqual(error._tag, "RangeNotSatisfiable")
      })
    )

    it.effect("head returns the stored object, and none for a missing key", () =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const key = `${freshPrefix()}note.txt`
        const bytes = new TextEncoder().encode("hello, storage")
        yield* storage.put(key, Stream.make(bytes), { contentType: "text/plain; charset=utf-8" })
        const found = yield* storage.head(key)
        assert.deepStrictEqual(
          found,
          Option.some({ key, size: bytes.length, contentType: "text/plain; charset=utf-8", sha256: sha256(bytes) })
        )
        assert.deepStrictEqual(yield* storage.head(`${freshPrefix()}missing`), Option.none())
      })
    )

    it.effect("get serves inclusive byte ranges, clamping the end to the last byte", () =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const key = `${freshPrefix()}ranged.bin`
        const bytes = pattern(1000)
        yield* storage.put(key, chunksOf(bytes, 300), { contentType: "application/octet-stream" })
        const cases = [
          { asked: { start: 0, end: 9 }, served: { start: 0, end: 9 } },
          { asked: { start: 100, end: 199 }, served: { start: 100, end: 199 } },
          { asked: { start: 990, end: 5000 }, served: { start: 990, end: 999 } },
          { asked: { start: 999, end: 999 }, served: { start: 999, end: 999 } }
        ]
        for (const { asked, served } of cases) {
          const content = yield* storage.get(key, asked)
          assert.strictEqual(content.object.size, 1000)
          assert.strictEqual(content.object.sha256, sha256(bytes))
          assert.deepStrictEqual(content.range, Option.some(served))
          assert.deepStrictEqual(
            new Uint8Array(yield* collect(content.body)),
            bytes.subarray(served.start, served.end + 1)
          )
        }
        for (const start of [1000, 5000]) {
          const error = yield* Effect.flip(storage.get(key, { start, end: start + 10 }))
          assert.strictEqual(error._tag, "RangeNotSatisfiable")
          if (error._tag === "RangeNotSatisfiable") assert.strictEqual(error.size, 1000)
        }
      })
    )

    it.effect("ranges across 64 KiB boundaries serve exactly the bytes asked for", () =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const key = `${freshPrefix()}segments.bin`
        const segment = 64 * 1024
        const bytes = randomBytes(4 * segment + 777)
        yield* storage.put(key, chunksOf(bytes, 10_000), { contentType: "application/octet-stream" })
        const ranges = [
          { start: 0, end: segment - 1 },
          { start: segment - 1, end: segment },
          { start: segment, end: segment },
          { start: segment + 5, end: 3 * segment + 17 },
          { start: 4 * segment, end: 4 * segment + 776 },
          { start: 4 * segment + 776, end: 10 * segment }
        ]
        for (const range of ranges) {
          const content = yield* storage.get(key, range)
          const end = Math.min(range.end, bytes.length - 1)
          assert.deepStrictEqual(content.range, Option.some({ start: range.start, end }))
          const read = yield* collect(content.body)
          assert.isTrue(read.equals(bytes.subarray(range.start, end + 1)), `${range.start}-${range.end}`)
        }
      })
    )

    it.effect("get of a missing key fails with ObjectNotFound, with or without a range", () =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const key = `${freshPrefix()}missing`
        for (const range of [undefined, { start: 0, end: 10 }]) {
          const error = yield* Effect.flip(storage.get(key, range))
          assert.strictEqual(error._tag, "ObjectNotFound")
          if (error._tag === "ObjectNotFound") assert.strictEqual(error.key, key)
        }
      })
    )

    it.effect("a put over maxBytes fails with ObjectTooLarge and leaves nothing behind", () =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const backend = yield* StorageBackend
        const key = `${freshPrefix()}too-large.bin`
        // Several parts' worth, so that S3 has started a multipart upload before the limit is crossed.
        const error = yield* Effect.flip(
          storage.put(key, chunksOf(randomBytes(24 * MiB), MiB), {
            contentType: "application/octet-stream",
            maxBytes: 20 * MiB
          })
        )
        assert.strictEqual(error._tag, "ObjectTooLarge")
        if (error._tag === "ObjectTooLarge") assert.strictEqual(error.maxBytes, 20 * MiB)
        assert.deepStrictEqual(yield* storage.head(key), Option.none())
        assert.deepStrictEqual(yield* backend.leftovers, [])
      })
    )

    it.effect("a body of exactly maxBytes is accepted", () =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const key = `${freshPrefix()}exact.bin`
        const stored = yield* storage.put(key, chunksOf(pattern(4096), 1000), {
          contentType: "application/octet-stream",
          maxBytes: 4096
        })
        assert.strictEqual(stored.size, 4096)
      })
    )

    it.effect("a body that fails mid-way leaves nothing visible and keeps the previous version", () =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const backend = yield* StorageBackend
        const key = `${freshPrefix()}replaced.bin`
        const previous = yield* storage.put(key, Stream.make(pattern(100)), { contentType: "text/plain" })
        const broken = Stream.concat(chunksOf(randomBytes(20 * MiB), MiB), Stream.fail(new BodyBroke()))
        const error = yield* Effect.flip(storage.put(key, broken, { contentType: "application/octet-stream" }))
        assert.strictEqual(error._tag, "BodyBroke")
        assert.deepStrictEqual(yield* storage.head(key), Option.some(previous))
        const fresh = `${freshPrefix()}never.bin`
        const again = yield* Effect.flip(storage.put(fresh, broken, { contentType: "application/octet-stream" }))
        assert.strictEqual(again._tag, "BodyBroke")
        assert.deepStrictEqual(yield* storage.head(fresh), Option.none())
        assert.deepStrictEqual(yield* backend.leftovers, [])
      })
    )

    it.effect("an interrupted put leaves nothing behind", () =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const backend = yield* StorageBackend
        const key = `${freshPrefix()}interrupted.bin`
        const consumed = yield* Deferred.make<void>()
        const stalled = chunksOf(randomBytes(12 * MiB), MiB).pipe(
          Stream.concat(Stream.execute(Deferred.succeed(consumed, undefined))),
          Stream.concat(Stream.never)
        )
        const fiber = yield* Effect.fork(storage.put(key, stalled, { contentType: "application/octet-stream" }))
        yield* Deferred.await(consumed)
        yield* Fiber.interrupt(fiber)
        assert.deepStrictEqual(yield* storage.head(key), Option.none())
        assert.deepStrictEqual(yield* backend.leftovers, [])
      })
    )

    it.effect("delete removes an object and is idempotent", () =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const key = `${freshPrefix()}doomed`
        yield* storage.put(key, Stream.make(pattern(10)), { contentType: "text/plain" })
        yield* storage.delete(key)
        assert.deepStrictEqual(yield* storage.head(key), Option.none())
        yield* storage.delete(key)
        yield* storage.delete(`${freshPrefix()}never-existed`)
      })
    )

    it.effect("a key above or below a stored object is simply absent", () =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const root = freshPrefix()
        yield* storage.put(`${root}n/a`, Stream.make(pattern(5)), { contentType: "text/plain" })
        for (const key of [`${root}n`, `${root}n/a/b`]) {
          assert.deepStrictEqual(yield* storage.head(key), Option.none(), key)
          assert.strictEqual((yield* Effect.flip(storage.get(key)))._tag, "ObjectNotFound", key)
          yield* storage.delete(key)
        }
        assert.isTrue(Option.isSome(yield* storage.head(`${root}n/a`)))
      })
    )

    it.effect("deleteByPrefix removes exactly the objects under the prefix and counts them", () =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const root = freshPrefix()
        const doomed = ["p/a/1", "p/a/2", "p/ab", "p/a/deep/er/3"]
        const kept = ["p/b/1", "p/", "q/a/1"].map((key) => (key.endsWith("/") ? `${key}x` : key))
        for (const key of [...doomed, ...kept]) {
          yield* storage.put(root + key, Stream.make(pattern(5)), { contentType: "text/plain" })
        }
        assert.strictEqual(yield* storage.deleteByPrefix(`${root}p/a`), doomed.length)
        for (const key of doomed) assert.isTrue(Option.isNone(yield* storage.head(root + key)), key)
        for (const key of kept) assert.isTrue(Option.isSome(yield* storage.head(root + key)), key)
        assert.strictEqual(yield* storage.deleteByPrefix(`${root}p/a`), 0)
        assert.strictEqual(yield* storage.deleteByPrefix(root), kept.length)
        assert.strictEqual(yield* storage.deleteByPrefix(`${freshPrefix()}nothing/`), 0)
      })
    )

    it.effect("signedUrl serves the bytes where the backend can sign, and is none otherwise", () =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const backend = yield* StorageBackend
        const key = `${freshPrefix()}shared file.bin`
        const bytes = pattern(2048)
        yield* storage.put(key, Stream.make(bytes), { contentType: "application/octet-stream" })
        const url = yield* storage.signedUrl(key, "5 minutes")
        assert.strictEqual(Option.isSome(url), backend.signsUrls)
        if (Option.isSome(url)) {
          const response = yield* Effect.promise(() => fetch(url.value))
          assert.strictEqual(response.status, 200)
          assert.deepStrictEqual(new Uint8Array(yield* Effect.promise(() => response.arrayBuffer())), bytes)
        }
      })
    )

    it.effect("a key outside the rules is a defect", () =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const bad = [
          "",
          "/absolute",
          "a/../b",
          "a/./b",
          "a//b",
          "trailing/",
          "nul\u0000byte",
          "tab\tkey",
          "back\\slash",
          ".tmp-x",
          "a/.tmp-y"
        ]
        for (const key of bad) {
          const exit = yield* Effect.exit(storage.head(key))
          assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause), JSON.stringify(key))
        }
        const put = yield* Effect.exit(storage.put("../escape", Stream.make(pattern(1)), { contentType: "text/plain" }))
        assert.isTrue(Exit.isFailure(put) && Cause.isDie(put.cause))
        const prefix = yield* Effect.exit(storage.deleteByPrefix("../"))
        assert.isTrue(Exit.isFailure(prefix) && Cause.isDie(prefix.cause))
      })
    )

    it.effect("ping succeeds", () => Storage.pipe(Effect.flatMap((storage) => storage.ping)))
  })
})

describe("Storage files", () => {
  it.live("removes stale temporary files at start and keeps objects across restarts", () =>
    Effect.gen(function* () {
      const directory = yield* scopedTempDir
      const bytes = pattern(300)
      const stored = yield* Effect.flatMap(Storage, (storage) =>
        storage.put("kept/object", Stream.make(bytes), { contentType: "text/plain" })
      ).pipe(Effect.provide(filesStorage(directory)))
      const stale = join(directory, "tmp", ".tmp-left-by-a-crash")
      mkdirSync(join(directory, "tmp"), { recursive: true })
      writeFileSync(stale, "partial")
      const content = yield* Effect.flatMap(Storage, (storage) =>
        Effect.flatMap(storage.get("kept/object"), ({ object, body }) =>
          Effect.map(collect(body), (read) => ({ object, read }))
        )
      ).pipe(Effect.provide(filesStorage(directory)))
      assert.isFalse(existsSync(stale))
      assert.deepStrictEqual(content.object, stored)
      assert.deepStrictEqual(new Uint8Array(content.read), bytes)
    }).pipe(Effect.scoped)
  )
})

describe("Storage files: encryption at rest", () => {
  const segment = 64 * 1024
  const key = "sealed/object.bin"

  /** An object of `size` bytes in a fresh directory; the test edits its files on disk and reads it back. */
  const stored = (size: number) =>
    Effect.gen(function* () {
      const directory = yield* scopedTempDir
      const bytes = randomBytes(size)
      yield* Effect.flatMap(Storage, (storage) =>
        storage.put(key, chunksOf(bytes, 50_000), { contentType: "application/x-secret" })
      ).pipe(Effect.provide(filesStorage(directory)))
      const dataPath = join(directory, "objects", ...key.split("/"))
      const metadataPath = join(directory, "metadata", ...key.split("/"))
      const segments = Math.max(1, Math.ceil(size / segment))
      const stride = segment + (statSync(dataPath).size - size) / segments
      return { directory, bytes, dataPath, metadataPath, stride }
    })

  /** The whole object read back, or the tag of the error the get or its body failed with. */
  const readBack = (directory: string, range?: { start: number; end: number }) =>
    Effect.flatMap(Storage, (storage) =>
      Effect.flatMap(storage.get(key, range), (content) => collect(content.body))
    ).pipe(
      Effect.provide(filesStorage(directory)),
      Effect.match({ onFailure: (error) => error._tag, onSuccess: (bytes) => bytes })
    )

  it.live("keeps neither the bytes nor the metadata in the clear", () =>
    Effect.gen(function* () {
      const directory = yield* scopedTempDir
      const marker = "PLAINTEXT-MARKER "
      const bytes = Buffer.from(marker.repeat(10_000))
      const object = yield* Effect.flatMap(Storage, (storage) =>
        storage.put(key, chunksOf(bytes, 4096), { contentType: "application/x-very-secret" })
      ).pipe(Effect.provide(filesStorage(directory)))
      const data = readFileSync(join(directory, "objects", ...key.split("/")))
      const metadata = readFileSync(join(directory, "metadata", ...key.split("/")))
      for (const file of [data, metadata]) {
        for (const secret of [marker, "application/x-very-secret", object.sha256]) {
          assert.strictEqual(file.indexOf(secret), -1, secret)
        }
      }
      const read = yield* readBack(directory)
      assert.isTrue(Buffer.isBuffer(read) && read.equals(bytes))
    }).pipe(Effect.scoped)
  )

  it.live("a flipped byte fails authentication of its segment, and only reads that touch it fail", () =>
    Effect.gen(function* () {
      const { directory, bytes, dataPath, stride } = yield* stored(3 * segment + 1000)
      const data = readFileSync(dataPath)
      data[stride + 100] = data[stride + 100]! ^ 0x01
      writeFileSync(dataPath, data)
      assert.strictEqual(yield* readBack(directory), "StorageUnavailable")
      assert.strictEqual(yield* readBack(directory, { start: segment + 10, end: segment + 20 }), "StorageUnavailable")
      const untouched = yield* readBack(directory, { start: 2 * segment, end: 3 * segment + 999 })
      assert.isTrue(Buffer.isBuffer(untouched) && untouched.equals(bytes.subarray(2 * segment)))
    }).pipe(Effect.scoped)
  )

  it.live("a truncated file is never served", () =>
    Effect.gen(function* () {
      for (const cut of ["a whole segment", "a few bytes"] as const) {
        const { directory, dataPath, stride } = yield* stored(3 * segment)
        truncateSync(dataPath, cut === "a whole segment" ? 2 * stride : 3 * stride - 5)
        const whole = yield* readBack(directory)
        assert.isFalse(Buffer.isBuffer(whole), cut)
        assert.isFalse(Buffer.isBuffer(yield* readBack(directory, { start: 0, end: 10 })), cut)
      }
    }).pipe(Effect.scoped)
  )

  it.live("segments swapped, or spliced in from another object, fail authentication", () =>
    Effect.gen(function* () {
      const swapped = yield* stored(3 * segment + 1)
      const data = readFileSync(swapped.dataPath)
      const first = Buffer.from(data.subarray(0, swapped.stride))
      data.copy(data, 0, swapped.stride, 2 * swapped.stride)
      first.copy(data, swapped.stride)
      writeFileSync(swapped.dataPath, data)
      assert.strictEqual(yield* readBack(swapped.directory), "StorageUnavailable")
      assert.strictEqual(yield* readBack(swapped.directory, { start: 0, end: 0 }), "StorageUnavailable")

      const target = yield* stored(3 * segment + 1)
      const donor = yield* stored(3 * segment + 1)
      const spliced = readFileSync(target.dataPath)
      readFileSync(donor.dataPath).copy(spliced, target.stride, target.stride, 2 * target.stride)
      writeFileSync(target.dataPath, spliced)
      assert.strictEqual(yield* readBack(target.directory, { start: segment, end: segment + 10 }), "StorageUnavailable")

      // Another version of the same key, with the same sizes: its sidecar names another object id.
      const current = yield* stored(3 * segment + 1)
      const previous = yield* stored(3 * segment + 1)
      writeFileSync(current.metadataPath, readFileSync(previous.metadataPath))
      assert.strictEqual(yield* readBack(current.directory), "StorageUnavailable")
    }).pipe(Effect.scoped)
  )

  it.live("a sidecar moved to another key fails authentication", () =>
    Effect.gen(function* () {
      const { directory, metadataPath, dataPath } = yield* stored(1000)
      const other = join(directory, "metadata", "sealed", "other.bin")
      writeFileSync(other, readFileSync(metadataPath))
      writeFileSync(join(directory, "objects", "sealed", "other.bin"), readFileSync(dataPath))
      const error = yield* Effect.flatMap(Storage, (storage) => Effect.flip(storage.head("sealed/other.bin"))).pipe(
        Effect.provide(filesStorage(directory))
      )
      assert.strictEqual(error._tag, "StorageUnavailable")
    }).pipe(Effect.scoped)
  )

  it.live("objects written under a rotated-out key still decrypt while that key stays in the ring", () =>
    Effect.gen(function* () {
      const directory = yield* scopedTempDir
      const oldKey = { kid: "old", key: randomBytes(32) }
      const bytes = randomBytes(segment + 10)
      yield* Effect.flatMap(Storage, (storage) =>
        storage.put(key, Stream.make(bytes), { contentType: "application/octet-stream" })
      ).pipe(Effect.provide(makeStorageFiles(directory).pipe(Layer.provide(makeCipherAesGcm([oldKey])))))
      const rotated = makeCipherAesGcm([{ kid: "new", key: randomBytes(32) }, oldKey])
      const read = yield* Effect.flatMap(Storage, (storage) =>
        Effect.flatMap(storage.get(key, { start: segment, end: segment + 9 }), (content) => collect(content.body))
      ).pipe(Effect.provide(makeStorageFiles(directory).pipe(Layer.provide(rotated))))
      assert.isTrue(read.equals(bytes.subarray(segment)))
    }).pipe(Effect.scoped)
  )
})

describe("Storage s3", () => {
  it.live("deleteByPrefix pages through more than one listing of objects", () =>
    Effect.gen(function* () {
      const server = yield* s3rver
      const client = yield* testClient(server)
      const count = 1005
      yield* Effect.forEach(
        Array.from({ length: count }, (_, i) => `many/${String(i).padStart(4, "0")}`),
        (Key) => Effect.promise(() => client.send(new PutObjectCommand({ Bucket: server.bucket, Key, Body: "x" }))),
        { concurrency: 16, discard: true }
      )
      const removed = yield* Effect.flatMap(Storage, (storage) => storage.deleteByPrefix("many/")).pipe(
        Effect.provide(makeStorageS3(server.settings))
      )
      assert.strictEqual(removed, count)
      const left = yield* Effect.promise(() =>
        client.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: "many/" }))
      )
      assert.strictEqual(left.KeyCount ?? 0, 0)
    }).pipe(Effect.scoped)
  )

  it.live("an access key without its secret is a defect", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        Effect.provide(
          Storage,
          makeStorageS3({
            bucket: "unused",
            endpoint: Option.none(),
            region: "us-east-1",
            forcePathStyle: false,
            accessKeyId: Option.some(Redacted.make("AKIA")),
            secretAccessKey: Option.none()
          })
        )
      )
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
    })
  )
})
