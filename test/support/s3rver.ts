// s3rver.d.ts sits beside s3rver.ts, so tsc takes it for this file's output and skips it unless referenced.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./s3rver.d.ts" />
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Option, Redacted } from "effect"
import S3rver, { type S3rverContext, type S3rverMiddleware, type S3rverStore } from "s3rver"
import type { S3Settings } from "../../src/layers/config.js"

export interface RunningS3rver {
  readonly endpoint: string
  readonly bucket: string
  readonly settings: S3Settings
  readonly close: () => Promise<void>
}

const uploadsDirectory = (directory: string, bucket: string) => join(directory, bucket, "._S3rver_uploads")

const listUploads = async (directory: string, bucket: string, prefix: string) => {
  const root = uploadsDirectory(directory, bucket)
  const ids = await readdir(root).catch(() => [])
  const uploads = await Promise.all(
    ids.map(async (UploadId) => ({
      Key: (await readFile(join(root, UploadId, "key"))).toString(),
      UploadId,
      Initiated: (await stat(join(root, UploadId))).mtime.toISOString()
    }))
  )
  return uploads.filter(({ Key }) => Key.startsWith(prefix))
}

const xmlns = "http://s3.amazonaws.com/doc/2006-03-01/"

const single = (value: string | ReadonlyArray<string> | undefined) => (typeof value === "string" ? value : undefined)

const listObjectsV2 = async (store: S3rverStore, bucket: string, query: S3rverContext["query"]) => {
  const token = single(query["continuation-token"])
  const startAfter = token === undefined ? single(query["start-after"]) : Buffer.from(token, "base64url").toString()
  const prefix = single(query["prefix"]) ?? ""
  const delimiter = single(query["delimiter"])
  const maxKeys = Math.min(1000, Number(single(query["max-keys"]) ?? 1000))
  const listing = await store.listObjects(bucket, { prefix, startAfter, delimiter, maxKeys })
  const last = listing.objects.at(-1)
  return {
    ListBucketResult: {
      "@": { xmlns },
      Name: bucket,
      Prefix: prefix,
      StartAfter: token === undefined ? startAfter : undefined,
      ContinuationToken: token,
      NextContinuationToken:
        listing.isTruncated && last !== undefined ? Buffer.from(last.key).toString("base64url") : undefined,
      KeyCount: listing.objects.length + listing.commonPrefixes.length,
      MaxKeys: maxKeys,
      Delimiter: delimiter,
      IsTruncated: listing.isTruncated,
      Contents: listing.objects.map((object) => ({
        Key: object.key,
        LastModified: object.lastModifiedDate.toISOString(),
        ETag: object.metadata["etag"],
        Size: object.size,
        StorageClass: "STANDARD"
      })),
      CommonPrefixes: listing.commonPrefixes.map((Prefix) => ({ Prefix }))
    }
  }
}

/**
 * Three S3 operations that s3rver 3.7 lacks on Node 20, answered from s3rver's own store (without
 * signature checks): ListMultipartUploads and AbortMultipartUpload (NotImplemented and MethodNotAllowed in
 * s3rver), so a suite can see that an aborted upload leaves no parts; and ListObjectsV2, whose truncated
 * pages s3rver answers with a 500 because its continuation tokens use DES, which OpenSSL 3 no longer offers.
 */
const missingOperations =
  (directory: string, store: S3rverStore): S3rverMiddleware =>
  async (context, next) => {
    const [, bucket, key] = /^\/([^/]+)(?:\/(.+)?)?$/.exec(context.path) ?? []
    const uploadId = single(context.query["uploadId"])
    if (bucket !== undefined && key === undefined && context.method === "GET") {
      if ("uploads" in context.query) {
        context.body = {
          ListMultipartUploadsResult: {
            "@": { xmlns },
            Bucket: bucket,
            IsTruncated: false,
            Upload: await listUploads(directory, bucket, single(context.query["prefix"]) ?? "")
          }
        }
        return
      }
      if (single(context.query["list-type"]) === "2") {
        context.body = await listObjectsV2(store, bucket, context.query)
        return
      }
    }
    if (bucket !== undefined && key !== undefined && context.method === "DELETE" && uploadId !== undefined) {
      const upload = join(uploadsDirectory(directory, bucket), uploadId)
      const exists = await stat(upload).then(
        () => true,
        () => false
      )
      if (!exists) {
        context.status = 404
        context.body = { Error: { Code: "NoSuchUpload", Message: "The specified upload does not exist." } }
        return
      }
      await rm(upload, { recursive: true, force: true })
      context.status = 204
      return
    }
    await next()
  }

/** An S3-compatible server on 127.0.0.1 with one empty bucket, in a fresh temporary directory. */
export const startS3rver = async (): Promise<RunningS3rver> => {
  const directory = await mkdtemp(join(tmpdir(), "plinth-s3rver-"))
  const bucket = "plinth-test"
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }]
  })
  // Just before s3rver's router, the last middleware, so that these two answer first.
  server.middleware.splice(server.middleware.length - 1, 0, missingOperations(directory, server.store))
  const { port } = await server.run()
  const endpoint = `http://127.0.0.1:${port}`
  return {
    endpoint,
    bucket,
    settings: {
      bucket,
      endpoint: Option.some(endpoint),
      region: "us-east-1",
      forcePathStyle: true,
      accessKeyId: Option.some(Redacted.make("S3RVER")),
      secretAccessKey: Option.some(Redacted.make("S3RVER"))
    },
    close: async () => {
      await server.close()
      await rm(directory, { recursive: true, force: true })
    }
  }
}
