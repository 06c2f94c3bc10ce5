import { Chunk, Context, Data, type Duration, Effect, Metric, type Option, Stream } from "effect"
import { storageBytesIn, storageBytesOut } from "./telemetry.js"

const reservedSegment = (segment: string) =>
  segment === "" || segment === "." || segment === ".." || segment.startsWith(".tmp-")

/**
 * Keys are relative `/`-separated paths of at most 1024 UTF-8 bytes, built by our code: no empty, `.`, `..`
 * or `.tmp-*` segments, no backslash, no control characters. Every implementation dies on any other key.
 */
export const isValidKey = (key: string): boolean =>
  key.length > 0 &&
  Buffer.byteLength(key) <= 1024 &&
  !Array.from(key).some((char) => char === "\\" || char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f) &&
  !key.split("/").some(reservedSegment)

/** A prefix is the start of some valid key, or empty for every key. */
export const isValidPrefix = (prefix: string): boolean => prefix === "" || isValidKey(`${prefix}x`)

export interface StoredObject {
  readonly key: string
  readonly size: number
  readonly contentType: string
  /** Lower-case hex sha256 of the plaintext bytes. */
  readonly sha256: string
}

/** Inclusive byte offsets, as in an HTTP `Range` header. */
export interface ByteRange {
  readonly start: number
  readonly end: number
}

export interface ObjectContent {
  readonly object: StoredObject
  /** The bytes served, with `end` clamped to the object's last byte; none when the whole object is served. */
  readonly range: Option.Option<ByteRange>
  /** Run it once, to the end or until interrupted: an S3 body holds its connection open until then. */
  readonly body: Stream.Stream<Uint8Array, StorageUnavailable>
}

export class StorageUnavailable extends Data.TaggedError("StorageUnavailable")<{
  readonly reason: string
  readonly cause?: unknown
}> {}

export class ObjectNotFound extends Data.TaggedError("ObjectNotFound")<{ readonly key: string }> {}

export class ObjectTooLarge extends Data.TaggedError("ObjectTooLarge")<{ readonly maxBytes: number }> {}

export class RangeNotSatisfiable extends Data.TaggedError("RangeNotSatisfiable")<{ readonly size: number }> {}

export interface PutOptions {
  readonly contentType: string
  /** The upload is aborted, and nothing of it kept, once the body passes this many bytes. */
  readonly maxBytes?: number
}

export interface StorageShape {
  /** Streams the body to storage, hashing as it goes; the object becomes visible only when complete. */
  readonly put: <E>(
    key: string,
    body: Stream.Stream<Uint8Array, E>,
    options: PutOptions
  ) => Effect.Effect<StoredObject, StorageUnavailable | ObjectTooLarge | E>
  readonly get: (
    key: string,
    range?: ByteRange
  ) => Effect.Effect<ObjectContent, StorageUnavailable | ObjectNotFound | RangeNotSatisfiable>
  readonly head: (key: string) => Effect.Effect<Option.Option<StoredObject>, StorageUnavailable>
  /** Idempotent: deleting a missing object succeeds. */
  readonly delete: (key: string) => Effect.Effect<void, StorageUnavailable>
  /** Returns how many objects were removed. */
  readonly deleteByPrefix: (prefix: string) => Effect.Effect<number, StorageUnavailable>
  /** A short-lived URL that serves the object directly, where the backend can sign one. */
  readonly signedUrl: (
    key: string,
    expiresIn: Duration.DurationInput
  ) => Effect.Effect<Option.Option<string>, StorageUnavailable>
  readonly ping: Effect.Effect<void, StorageUnavailable>
}

export class Storage extends Context.Tag("app/Storage")<Storage, StorageShape>() {}

const byteCount = (chunk: Chunk.Chunk<Uint8Array>) => Chunk.reduce(chunk, 0, (total, bytes) => total + bytes.length)

/** Counts the bytes every implementation stores and serves: stored objects in, served bodies out as they stream. */
export const meterStorage = (storage: StorageShape): StorageShape => ({
  ...storage,
  put: (key, body, options) =>
    Effect.tap(storage.put(key, body, options), (object) => Metric.incrementBy(storageBytesIn, object.size)),
  get: (key, range) =>
    Effect.map(storage.get(key, range), (content) => ({
      ...content,
      body: Stream.mapChunksEffect(content.body, (chunk) =>
        Effect.as(Metric.incrementBy(storageBytesOut, byteCount(chunk)), chunk)
      )
    }))
})
