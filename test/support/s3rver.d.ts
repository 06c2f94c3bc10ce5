declare module "s3rver" {
  import type { AddressInfo } from "node:net"

  export interface S3rverContext {
    readonly method: string
    readonly path: string
    readonly query: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
    status: number
    body: unknown
  }

  export interface S3rverListing {
    readonly objects: ReadonlyArray<{
      readonly key: string
      readonly size: number
      readonly lastModifiedDate: Date
      readonly metadata: Readonly<Record<string, string>>
    }>
    readonly commonPrefixes: ReadonlyArray<string>
    readonly isTruncated: boolean
  }

  export interface S3rverStore {
    listObjects(
      bucket: string,
      options: {
        readonly prefix?: string | undefined
        readonly startAfter?: string | undefined
        readonly delimiter?: string | undefined
        readonly maxKeys?: number
      }
    ): Promise<S3rverListing>
  }

  export type S3rverMiddleware = (context: S3rverContext, next: () => Promise<void>) => Promise<void>

  export interface S3rverOptions {
    readonly address?: string
    readonly port?: number
    readonly silent?: boolean
    readonly directory?: string
    readonly resetOnClose?: boolean
    readonly vhostBuckets?: boolean
    readonly configureBuckets?: ReadonlyArray<{ readonly name: string }>
  }

  /** A Koa application: `middleware` is Koa's own list, composed when the server starts. */
  export default class S3rver {
    constructor(options?: S3rverOptions)
    readonly middleware: Array<S3rverMiddleware>
    readonly store: S3rverStore
    run(): Promise<AddressInfo>
    close(): Promise<void>
  }
}
