import { createHash, randomUUID } from "node:crypto"
import { Readable } from "node:stream"
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  S3Client,
  S3ServiceException
} from "@aws-sdk/client-s3"
import { Upload } from "@aws-sdk/lib-storage"
import { getSignedUrl } from "@aws-sdk/s3-request-presigner"
import { NodeStream } from "@effect/platform-node"
import { type Cause, Data, Duration, Effect, Layer, Option, Redacted, Ref, Stream } from "effect"
import type { S3Settings } from "../config.js"
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

const partSize = 5 * 1024 * 1024
// The most a single CopyObject can publish (see put); larger bodies are refused before they are uploaded.
const maxObjectBytes = 5 * 1024 * 1024 * 1024
const maxPresignSeconds = 7 * 24 * 60 * 60

class S3CallFailed extends Data.TaggedError("S3CallFailed")<{ readonly operation: string; readonly cause: unknown }> {
  get status(): number | undefined {
    return this.cause instanceof S3ServiceException ? this.cause.$metadata.httpStatusCode : undefined
  }
  get code(): string | undefined {
    return this.cause instanceof S3ServiceException ? this.cause.name : undefined
  }
  get notFound() {
    return this.status === 404 || this.code === "NoSuchKey" || this.code === "NotFound"
  }
}

const unavailable = (error: S3CallFailed) =>
  new StorageUnavailable({ reason: `S3 ${error.operation} failed`, cause: error.cause })

const checkKey = (key: string) =>
  isValidKey(key) ? Effect.void : Effect.dieMessage(`Invalid storage key ${JSON.stringify(key)}`)

const checkRange = (range: ByteRange | undefined) =>
  range === undefined ||
  (Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end) && range.start >= 0 && range.end >= range.start)
    ? Effect.void
    : Effect.dieMessage(`Invalid byte range ${range.start}-${range.end}`)

const isTemporary = (key: string) => key.startsWith(".tmp-")

const make = (settings: S3Settings) =>
  Effect.gen(function* () {
    const Bucket = settings.bucket
    const credentials = yield* Option.match(Option.all([settings.accessKeyId, settings.secretAccessKey]), {
      onSome: ([accessKeyId, secretAccessKey]) =>
        Effect.succeed({
          credentials: { accessKeyId: Redacted.value(accessKeyId), secretAccessKey: Redacted.value(secretAccessKey) }
        }),
      onNone: () =>
        Option.isSome(settings.accessKeyId) || Option.isSome(settings.secretAccessKey)
          ? Effect.dieMessage("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together")
          : Effect.succeed({})
    })
    const client = yield* Effect.acquireRelease(
      Effect.sync(
        () =>
          new S3Client({
            region: settings.region,
            forcePathStyle: settings.forcePathStyle,
            requestChecksumCalculation: "WHEN_REQUIRED",
            responseChecksumValidation: "WHEN_REQUIRED",
            ...Option.match(settings.endpoint, { onNone: () => ({}), onSome: (endpoint) => ({ endpoint }) }),
            ...credentials
          })
      ),
      (client) => Effect.sync(() => client.destroy())
    )

    const call = <A>(operation: string, send: (signal: AbortSignal) => Promise<A>) =>
      Effect.tryPromise({ try: send, catch: (cause) => new S3CallFailed({ operation, cause }) })

    const toStoredObject = (
      key: string,
      size: number,
      response: Pick<HeadObjectCommandOutput, "ContentType" | "Metadata">
    ): Effect.Effect<StoredObject> => {
      const sha256 = response.Metadata?.["sha256"]
      return sha256 === undefined
        ? Effect.dieMessage(`S3 object ${JSON.stringify(key)} has no sha256 metadata: Storage.put did not write it`)
        : Effect.succeed({ key, size, contentType: response.ContentType ?? "application/octet-stream", sha256 })
    }

    const headObject = (key: string) =>
      call("HeadObject", (abortSignal) =>
        client.send(new HeadObjectCommand({ Bucket, Key: key }), { abortSignal })
      ).pipe(
        Effect.flatMap((response) => toStoredObject(key, response.ContentLength ?? 0, response)),
        Effect.map(Option.some),
        Effect.catchIf(
          (error) => error.notFound,
          () => Effect.succeedNone
        ),
        Effect.mapError(unavailable)
      )

    const deleteObject = (key: string) =>
      call("DeleteObject", (abortSignal) => client.send(new DeleteObjectCommand({ Bucket, Key: key }), { abortSignal }))

    const abortMultipartUpload = (key: string, uploadId: string) =>
      call("AbortMultipartUpload", (abortSignal) =>
        client.send(new AbortMultipartUploadCommand({ Bucket, Key: key, UploadId: uploadId }), { abortSignal })
      ).pipe(
        Effect.catchIf(
          (error) => error.status === 404,
          () => Effect.void
        )
      )

    // Settles only once lib-storage has stopped: on interruption the body is destroyed, which makes the
    // upload fail and abort its multipart upload, and that is awaited before the fiber is released.
    const runUpload = (upload: Upload, body: Readable) =>
      Effect.async<void, unknown>((resume) => {
        const done = upload.done()
        done.then(
          () => resume(Effect.void),
          (error: unknown) => resume(Effect.fail(error))
        )
        return Effect.promise(() => {
          body.destroy(new Error("upload interrupted"))
          return done.then(
            () => undefined,
            () => undefined
          )
        })
      })

    const put = <E>(key: string, body: Stream.Stream<Uint8Array, E>, options: PutOptions) =>
      Effect.gen(function* () {
        yield* checkKey(key)
        const temporaryKey = `.tmp-${randomUUID()}`
        const hash = createHash("sha256")
        const maxBytes = Math.min(options.maxBytes ?? maxObjectBytes, maxObjectBytes)
        let size = 0
        const bodyFailure = yield* Ref.make(Option.none<Cause.Cause<E | ObjectTooLarge>>())
        const readable = yield* NodeStream.toReadable(
          body.pipe(
            Stream.tap((chunk) =>
              Effect.suspend(() => {
                size += chunk.byteLength
                if (size > maxBytes) return new ObjectTooLarge({ maxBytes })
                hash.update(chunk)
                return Effect.void
              })
            ),
            Stream.onError((cause) => Ref.set(bodyFailure, Option.some(cause)))
          )
        )
        const upload = new Upload({
          client,
          queueSize: 2,
          partSize,
          leavePartsOnError: false,
          params: {
            Bucket,
            Key: temporaryKey,
            Body: readable,
            ContentType: options.contentType,
            ServerSideEncryption: "AES256"
          }
        })
        return yield* Effect.gen(function* () {
          yield* runUpload(upload, readable).pipe(
            // lib-storage aborts a failed multipart upload itself, but if that abort failed the parts would
            // be kept (and billed) forever; a second abort of an aborted upload is a harmless 404.
            Effect.onError(() =>
              upload.uploadId === undefined
                ? Effect.void
                : abortMultipartUpload(temporaryKey, upload.uploadId).pipe(
                    Effect.catchAll((error) => Effect.logWarning("Could not abort a multipart upload", error.cause))
                  )
            ),
            Effect.ensuring(Effect.sync(() => readable.destroy())),
            Effect.catchAll((cause) =>
              Effect.gen(function* () {
                const failure = yield* Ref.get(bodyFailure)
                if (Option.isSome(failure)) return yield* Effect.failCause(failure.value)
                return yield* new StorageUnavailable({ reason: "S3 upload failed", cause })
              })
            )
          )
          const object: StoredObject = { key, size, contentType: options.contentType, sha256: hash.digest("hex") }
          // Metadata of an object is fixed once written and the hash is known only now, so the upload went to a
          // temporary key and the copy publishes it, with its metadata, in one step.
          yield* call("CopyObject", (abortSignal) =>
            client.send(
              new CopyObjectCommand({
                Bucket,
                Key: key,
                CopySource: `${Bucket}/${temporaryKey}`,
                MetadataDirective: "REPLACE",
                Metadata: { sha256: object.sha256 },
                ContentType: object.contentType,
                ServerSideEncryption: "AES256"
              }),
              { abortSignal }
            )
          ).pipe(Effect.mapError(unavailable))
          return object
        }).pipe(
          Effect.ensuring(
            deleteObject(temporaryKey).pipe(
              Effect.catchAll((error) => Effect.logWarning("Could not delete a temporary upload", error.cause))
            )
          )
        )
      }).pipe(Effect.withSpan("Storage.put", { attributes: { key } }))

    const rangeNotSatisfiable = (key: string) =>
      Effect.gen(function* () {
        const object = yield* headObject(key)
        if (Option.isNone(object)) return yield* new ObjectNotFound({ key })
        return yield* new RangeNotSatisfiable({ size: object.value.size })
      })

    const get = Effect.fn("Storage.get")(function* (key: string, range?: ByteRange) {
      yield* checkKey(key)
      yield* checkRange(range)
      const response = yield* call("GetObject", (abortSignal) =>
        client.send(
          new GetObjectCommand({
            Bucket,
            Key: key,
            ...(range === undefined ? {} : { Range: `bytes=${range.start}-${range.end}` })
          }),
          { abortSignal }
        )
      ).pipe(
        Effect.catchAll((error): Effect.Effect<never, ObjectNotFound | RangeNotSatisfiable | StorageUnavailable> =>
          error.notFound
            ? new ObjectNotFound({ key })
            : error.status === 416 || error.code === "InvalidRange"
              ? rangeNotSatisfiable(key)
              : Effect.fail(unavailable(error))
        )
      )
      const served = Option.fromNullable(/^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.ContentRange ?? ""))
      const size = Option.match(served, {
        onNone: () => response.ContentLength ?? 0,
        onSome: (match) => Number(match[3])
      })
      const body = response.Body
      // S3 answers such a range with 416, but some compatible servers serve `bytes 0-0/0` of an empty object.
      if (range !== undefined && range.start >= size) {
        if (body instanceof Readable) body.destroy()
        return yield* new RangeNotSatisfiable({ size })
      }
      const object = yield* toStoredObject(key, size, response)
      return {
        object,
        range: Option.map(served, (match) => ({ start: Number(match[1]), end: Number(match[2]) })),
        body:
          body === undefined
            ? Stream.empty
            : Stream.fromReadableStream({
                evaluate: () => body.transformToWebStream(),
                onError: (cause) => new StorageUnavailable({ reason: "S3 object body failed", cause })
              })
      }
    })

    const head = Effect.fn("Storage.head")(function* (key: string) {
      yield* checkKey(key)
      return yield* headObject(key)
    })

    const remove = Effect.fn("Storage.delete")(function* (key: string) {
      yield* checkKey(key)
      yield* deleteObject(key).pipe(Effect.mapError(unavailable))
    })

    const deleteByPrefix = Effect.fn("Storage.deleteByPrefix")(function* (prefix: string) {
      if (!isValidPrefix(prefix)) return yield* Effect.dieMessage(`Invalid storage prefix ${JSON.stringify(prefix)}`)
      let removed = 0
      let continuationToken: string | undefined = undefined
      do {
        const token: string | undefined = continuationToken
        const page: ListObjectsV2CommandOutput = yield* call("ListObjectsV2", (abortSignal) =>
          client.send(new ListObjectsV2Command({ Bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal })
        ).pipe(Effect.mapError(unavailable))
        const keys = (page.Contents ?? []).flatMap(({ Key }) =>
          Key === undefined || isTemporary(Key) ? [] : [{ Key }]
        )
        if (keys.length > 0) {
          const result = yield* call("DeleteObjects", (abortSignal) =>
            client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys, Quiet: true } }), { abortSignal })
          ).pipe(Effect.mapError(unavailable))
          const failed = result.Errors?.length ?? 0
          if (failed > 0) {
            return yield* new StorageUnavailable({
              reason: `S3 DeleteObjects failed for ${failed} of ${keys.length} objects`,
              cause: result.Errors
            })
          }
          removed += keys.length
        }
        continuationToken = page.IsTruncated === true ? page.NextContinuationToken : undefined
      } while (continuationToken !== undefined)
      return removed
    })

    const signedUrl = Effect.fn("Storage.signedUrl")(function* (key: string, expiresIn: Duration.DurationInput) {
      yield* checkKey(key)
      const seconds = Math.ceil(Duration.toSeconds(Duration.decode(expiresIn)))
      if (!(seconds >= 1 && seconds <= maxPresignSeconds)) {
        return yield* Effect.dieMessage(`A signed URL must expire within 1 second to 7 days, not ${seconds} seconds`)
      }
      const url = yield* Effect.tryPromise({
        try: () => getSignedUrl(client, new GetObjectCommand({ Bucket, Key: key }), { expiresIn: seconds }),
        catch: (cause) => new StorageUnavailable({ reason: "S3 URL signing failed", cause })
      })
      return Option.some(url)
    })

    const ping = call("HeadBucket", (abortSignal) =>
      client.send(new HeadBucketCommand({ Bucket }), { abortSignal })
    ).pipe(Effect.asVoid, Effect.mapError(unavailable), Effect.withSpan("Storage.ping"))

    return Storage.of(meterStorage({ put, get, head, delete: remove, deleteByPrefix, signedUrl, ping }))
  })

/** Objects in an S3 bucket, encrypted at rest (SSE-S3); the client is destroyed when the layer's scope closes. */
export const makeStorageS3 = (settings: S3Settings): Layer.Layer<Storage> => Layer.scoped(Storage, make(settings))
