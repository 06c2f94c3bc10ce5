import { readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3"
import { FetchHttpClient, HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { Context, Effect, Layer, Option, Redacted, type Scope } from "effect"
import { baseApi } from "../../src/http/api.js"
import { FilesGroup } from "../../src/http/groups/files.js"
import { ProjectsGroup } from "../../src/http/groups/projects.js"
import { AppConfig, type AppSettings } from "../../src/layers/config.js"
import { SqlClient } from "../../src/layers/database.js"
import { InfraLive } from "../../src/layers/index.js"
import { Storage, type StorageShape } from "../../src/layers/storage.js"
import { PlinthLive } from "../../src/main.js"
import { Events } from "../../src/services/events/events.js"
import { Files, type FilesShape } from "../../src/services/projects/files.js"
import { Projects } from "../../src/services/projects/projects.js"
import { ADMIN, responseBodies } from "../identity/harness.js"
import { freshPostgresDatabase } from "../support/postgres.js"
import { startS3rver } from "../support/s3rver.js"
import { freePort, TestServer } from "../support/server.js"
import { serviceUrl } from "../support/services.js"
import { testSettings } from "../support/settings.js"
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js"

/** The projects module's contract, as a client outside the server sees it. */
export const ProjectsApi = baseApi.add(ProjectsGroup).add(FilesGroup)

export const MiB = 1024 * 1024

interface S3Link {
  readonly client: S3Client
  readonly bucket: string
  /** Stands between the server and s3rver, so a test can cut the link. */
  readonly proxy: TcpProxy
}

export interface ProjectsBackend {
  readonly name: string
  /** Whether the database is a PostgreSQL server (else PGlite in the server's DATA_DIR). */
  readonly postgres: boolean
  readonly s3: boolean
  /** Acquired for the suite: the settings of an in-process server, and the environment of a spawned one. */
  readonly acquire: Effect.Effect<
    {
      readonly settings: Partial<AppSettings>
      readonly env: Effect.Effect<Record<string, string>, never, Scope.Scope>
      readonly s3: Option.Option<S3Link>
    },
    never,
    Scope.Scope
  >
}

const databaseUrl = serviceUrl("TEST_DATABASE_URL")
const redisUrl = serviceUrl("TEST_REDIS_URL")

const s3Link = Effect.gen(function* () {
  const server = yield* Effect.acquireRelease(Effect.promise(startS3rver), (server) => Effect.promise(server.close))
  const proxy = yield* Effect.acquireRelease(
    Effect.promise(() => startTcpProxy("127.0.0.1", Number(new URL(server.endpoint).port))),
    (proxy) => Effect.promise(() => proxy.close())
  )
  const client = yield* Effect.acquireRelease(
    Effect.sync(
      () =>
        new S3Client({
          endpoint: server.endpoint,
          region: "us-east-1",
          forcePathStyle: true,
          credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }
        })
    ),
    (client) => Effect.sync(() => client.destroy())
  )
  return { server, proxy, client }
})

/**
 * Embedded defaults always; and S3 through s3rver (always available), on PostgreSQL and Redis when their URLs are
 * given. The S3 link runs through a TCP proxy a test may cut.
 */
export const backends: ReadonlyArray<ProjectsBackend> = [
  {
    name: "embedded",
    postgres: false,
    s3: false,
    acquire: Effect.succeed({ settings: {}, env: Effect.succeed({}), s3: Option.none() })
  },
  {
    name: ["s3", ...(databaseUrl === undefined ? [] : ["postgres"]), ...(redisUrl === undefined ? [] : ["redis"])].join(
      "+"
    ),
    postgres: databaseUrl !== undefined,
    s3: true,
    acquire: Effect.gen(function* () {
      const { server, proxy, client } = yield* s3Link
      const database = databaseUrl === undefined ? undefined : yield* freshPostgresDatabase(databaseUrl)
      const endpoint = `http://127.0.0.1:${proxy.port}`
      return {
        settings: {
          s3: Option.some({ ...server.settings, endpoint: Option.some(endpoint) }),
          ...(database === undefined ? {} : { databaseUrl: Option.some(Redacted.make(database)) }),
          ...(redisUrl === undefined ? {} : { redisUrl: Option.some(Redacted.make(redisUrl)) })
        },
        env: Effect.gen(function* () {
          const own = databaseUrl === undefined ? undefined : yield* freshPostgresDatabase(databaseUrl)
          return {
            S3_BUCKET: server.bucket,
            S3_ENDPOINT: endpoint,
            S3_FORCE_PATH_STYLE: "true",
            AWS_ACCESS_KEY_ID: "S3RVER",
            AWS_SECRET_ACCESS_KEY: "S3RVER",
            ...(own === undefined ? {} : { DATABASE_URL: own }),
            ...(redisUrl === undefined ? {} : { REDIS_URL: redisUrl })
          }
        }),
        s3: Option.some({ client, bucket: server.bucket, proxy })
      }
    })
  }
]

export interface Stage {
  readonly settings: AppSettings
  /** The server's own database client and storage, to look behind the API. */
  readonly sql: SqlClient.SqlClient
  readonly storage: StorageShape
  /** The Files service over the same database and storage, for what only workers do (the sweeper). */
  readonly files: FilesShape
  readonly s3: Option.Option<S3Link>
  /** The environment that runs a separate server process on the same kind of backend (its own database). */
  readonly spawnEnv: Effect.Effect<Record<string, string>, never, Scope.Scope>
  /** Every stored object under the project's prefix, and every temporary file, object or multipart upload. */
  readonly leftovers: (projectId: string) => Effect.Effect<ReadonlyArray<string>>
}

export class Backstage extends Context.Tag("test/Backstage")<Backstage, Stage>() {}

const walk = (directory: string): ReadonlyArray<string> => {
  const entries = (() => {
    try {
      return readdirSync(directory)
    } catch {
      return []
    }
  })()
  return entries.flatMap((name) => {
    const path = join(directory, name)
    return statSync(path).isDirectory() ? walk(path) : [path]
  })
}

const s3Leftovers = (link: S3Link, projectId: string) =>
  Effect.promise(async () => {
    const Bucket = link.bucket
    const [objects, temporary, uploads] = await Promise.all([
      link.client.send(new ListObjectsV2Command({ Bucket, Prefix: `projects/${projectId}/` })),
      link.client.send(new ListObjectsV2Command({ Bucket, Prefix: ".tmp-" })),
      link.client.send(new ListMultipartUploadsCommand({ Bucket }))
    ])
    return [
      ...[...(objects.Contents ?? []), ...(temporary.Contents ?? [])].map((object) => `object ${object.Key}`),
      ...(uploads.Uploads ?? []).map((upload) => `multipart upload ${upload.Key}`)
    ]
  })

/** Files over the server's infrastructure: the same layers, so the same database and storage. */
const StageFiles = Files.layer.pipe(Layer.provide(Projects.layer), Layer.provide(Events.layer))

/**
 * The whole program as `npm start` composes it, on `backend`, with the bootstrap admin; plus an HttpClient and
 * the Backstage. Building PlinthLive and InfraLive together shares InfraLive's one instance between them.
 */
export const projectsServer = (backend: ProjectsBackend, overrides: Partial<AppSettings> = {}) =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const acquired = yield* backend.acquire
      const port = yield* freePort()
      const settings = testSettings({
        port,
        admin: Option.some({ email: ADMIN.email, password: Redacted.make(ADMIN.password) }),
        ...acquired.settings,
        ...overrides
      })
      const built = yield* Layer.build(
        Layer.mergeAll(PlinthLive, InfraLive, StageFiles.pipe(Layer.provide(InfraLive))).pipe(
          Layer.provide(Layer.succeed(AppConfig, settings))
        )
      )
      const stage: Stage = {
        settings,
        sql: Context.get(built, SqlClient.SqlClient),
        storage: Context.get(built, Storage),
        files: Context.get(built, Files),
        s3: acquired.s3,
        spawnEnv: acquired.env,
        leftovers: (projectId) =>
          Option.match(acquired.s3, {
            onSome: (link) => s3Leftovers(link, projectId),
            onNone: () =>
              Effect.sync(() => [
                ...walk(join(settings.dataDir, "files", "objects", "projects", projectId)),
                ...walk(join(settings.dataDir, "files", "tmp"))
              ])
          })
      }
      return Context.make(TestServer, { url: `http://127.0.0.1:${port}`, settings }).pipe(Context.add(Backstage, stage))
    })
  ).pipe(Layer.merge(FetchHttpClient.layer))

/** A typed client for the projects module, authenticated, that records every body it receives. */
export const projectsClient = (accessToken: string) =>
  Effect.flatMap(TestServer, ({ url }) =>
    HttpApiClient.make(ProjectsApi, {
      baseUrl: url,
      transformClient: (client) =>
        client.pipe(
          HttpClient.mapRequest((request) => HttpClientRequest.bearerToken(request, accessToken)),
          HttpClient.tap((response) =>
            response.arrayBuffer.pipe(
              Effect.map((bytes) => void responseBodies.push(Buffer.from(bytes).toString("utf8"))),
              Effect.ignore
            )
          )
        )
    })
  )

export interface BytesResponse {
  readonly status: number
  readonly headers: Headers
  readonly body: Buffer
  readonly text: string
  readonly json: unknown
}

/** A plain request with any body; the answer's bytes are kept whole (these are small) and parsed as JSON if they are. */
export const send = (path: string, init: RequestInit & { readonly token?: string } = {}) =>
  Effect.flatMap(TestServer, ({ url }) =>
    Effect.promise(async (): Promise<BytesResponse> => {
      const { token, ...rest } = init
      const headers = new Headers(rest.headers)
      if (token !== undefined) headers.set("authorization", `Bearer ${token}`)
      const response = await fetch(`${url}${path}`, { ...rest, headers })
      const body = Buffer.from(await response.arrayBuffer())
      const text = body.toString("utf8")
      responseBodies.push(text)
      let json: unknown = undefined
      try {
        json = JSON.parse(text)
      } catch {
        json = undefined
      }
      return { status: response.status, headers: response.headers, body, text, json }
    })
  )
