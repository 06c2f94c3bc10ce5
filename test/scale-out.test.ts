import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Schedule } from "effect"
import { exportJWK, generateKeyPair } from "jose"
import { randomBytes, randomInt, randomUUID } from "node:crypto"
import { StoragePurgeConsumer } from "../src/services/events/storage-purge.js"
import { deleteAmqpTopology } from "./support/amqp.js"
import { freshPostgresDatabase, query } from "./support/postgres.js"
import { exitOf, type ServerProcess, spawnServer, waitUntilReady } from "./support/process.js"
import { startS3rver } from "./support/s3rver.js"
import { freePort, raw } from "./support/server.js"
import { serviceUrl } from "./support/services.js"
import { tempDir } from "./support/settings.js"

const databaseUrl = serviceUrl("TEST_DATABASE_URL")
const redisUrl = serviceUrl("TEST_REDIS_URL")
const amqpUrl = serviceUrl("TEST_AMQP_URL")

const AUTH_LIMIT = 6

/** Each step speaks from an address of its own, so that only its own requests count against the per-IP limit. */
const clientAddress = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`

const json = (body: unknown, from: string, token?: string) => ({
  headers: {
    "content-type": "application/json",
    "x-forwarded-for": from,
    ...(token === undefined ? {} : { authorization: `Bearer ${token}` })
  },
  body: JSON.stringify(body)
})

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })

/** A process that the scope stops with SIGTERM, waiting for its exit. */
const spawnScoped = (env: Record<string, string>) =>
  Effect.acquireRelease(spawnServer(env), (process: ServerProcess) =>
    Effect.suspend(() => {
      if (process.child.exitCode !== null) return Effect.void
      process.child.kill("SIGTERM")
      return Effect.asVoid(exitOf(process))
    })
  )

const sharedEnvironment = Effect.gen(function* () {
  const database = yield* freshPostgresDatabase(databaseUrl ?? "")
  const s3 = yield* Effect.acquireRelease(Effect.promise(startS3rver), (s3) => Effect.promise(s3.close))
  const exchange = `plinth-test-${randomUUID()}`
  yield* Effect.addFinalizer(() =>
    Effect.promise(() =>
      deleteAmqpTopology(
        amqpUrl ?? "",
        exchange,
        { [StoragePurgeConsumer.name]: StoragePurgeConsumer.maxAttempts ?? 5 },
        Duration.decode(StoragePurgeConsumer.retryBaseDelay ?? "1 second")
      ).catch(() => undefined)
    )
  )
  const { privateKey } = yield* Effect.promise(() => generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true }))
  const signingKey = { ...(yield* Effect.promise(() => exportJWK(privateKey))), kid: "scale-out" }
  return {
    s3,
    database,
    env: {
      DATABASE_URL: database,
      REDIS_URL: redisUrl ?? "",
      AMQP_URL: amqpUrl ?? "",
      AMQP_EXCHANGE: exchange,
      S3_BUCKET: s3.bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_FORCE_PATH_STYLE: "true",
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      JWT_PRIVATE_KEYS: JSON.stringify([signingKey]),
      ENCRYPTION_KEYS: `scale-out:${randomBytes(32).toString("base64")}`,
      TRUST_PROXY: "true",
      AUTH_RATE_LIMIT_PER_IP: String(AUTH_LIMIT),
      LOG_LEVEL: "warn"
    }
  }
})

describe.runIf(databaseUrl !== undefined && redisUrl !== undefined && amqpUrl !== undefined)(
  "Two servers and a worker on shared PostgreSQL, Redis, RabbitMQ and S3",
  () => {
    it.scopedLive(
      "keep no state of their own: revocations, rate limits, events and profiles hold across processes",
      () =>
        Effect.gen(function* () {
          const shared = yield* sharedEnvironment
          const [portA, portB, workerPort] = [yield* freePort(), yield* freePort(), yield* freePort()]
          const processEnv = (mode: string, port: number) => ({
            ...shared.env,
            MODE: mode,
            PORT: String(port),
            HOST: "127.0.0.1",
            DATA_DIR: tempDir(`scale-${mode}`)
          })
          const processes = yield* Effect.all(
            [
              spawnScoped(processEnv("server", portA)),
              spawnScoped(processEnv("server", portB)),
              spawnScoped(processEnv("worker", workerPort))
            ],
            { concurrency: "unbounded" }
          )
          const a = `http://127.0.0.1:${portA}`
          const b = `http://127.0.0.1:${portB}`
          const ready = yield* Effect.all(
            [a, b, `http://127.0.0.1:${workerPort}`].map((url) => waitUntilReady(url, 90)),
            { concurrency: "unbounded" }
          )
          // What the processes printed, so that a start-up that never got ready says why.
          expect(ready, processes.map((process) => process.output()).join("\n---\n")).toEqual([true, true, true])

          // A profile updated through one server is never served stale by the other, which cached it.
          const registered = yield* raw(`${a}/auth/register`, {
            method: "POST",
            ...json({ email: "scale@example.com", password: "correct horse battery", name: "Name 0" }, clientAddress())
          })
          expect(registered.status).toBe(201)
          const { accessToken, refreshToken } = registered.json as { accessToken: string; refreshToken: string }
          for (let round = 1; round <= 4; round++) {
            const [writer, reader] = round % 2 === 1 ? [a, b] : [b, a]
            const before = yield* raw(`${reader}/users/profile`, bearer(accessToken))
            expect(before.json).toMatchObject({ name: `Name ${round - 1}` })
            const updated = yield* raw(`${writer}/users/profile`, {
              method: "PUT",
              ...json({ name: `Name ${round}` }, clientAddress(), accessToken)
            })
            expect(updated.status).toBe(200)
            const after = yield* raw(`${reader}/users/profile`, bearer(accessToken))
            expect(after.json).toMatchObject({ name: `Name ${round}` })
          }

          // An event published through one server is consumed once, by the worker.
          const project = yield* raw(`${a}/projects`, {
            method: "POST",
            ...json({ name: "shared" }, clientAddress(), accessToken)
          })
          expect(project.status).toBe(201)
          const projectId = (project.json as { id: string }).id
          const upload = yield* raw(`${b}/projects/${projectId}/files?name=notes.txt`, {
            method: "POST",
            headers: { authorization: `Bearer ${accessToken}`, "content-type": "text/plain" },
            body: "kept until the project goes"
          })
          expect(upload.status).toBe(201)
          const s3 = new S3Client({
            endpoint: shared.s3.endpoint,
            region: "us-east-1",
            forcePathStyle: true,
            credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }
          })
          const storedObjects = Effect.promise(() =>
            s3.send(new ListObjectsV2Command({ Bucket: shared.s3.bucket })).then((listing) => listing.KeyCount ?? 0)
          )
          expect(yield* storedObjects).toBe(1)
          const deleted = yield* raw(`${a}/projects/${projectId}`, { method: "DELETE", ...bearer(accessToken) })
          expect(deleted.status).toBe(204)
          const processed = yield* query(
            shared.database,
            `select o.id, o.published_at, count(p.event_id)::int as consumed
               from outbox o left join processed_events p on p.event_id = o.id and p.consumer = $1
              where o.type = 'storage.purge_requested' group by o.id, o.published_at`,
            [StoragePurgeConsumer.name]
          ).pipe(
            Effect.filterOrFail((rows) => rows.length === 1 && rows[0]?.["consumed"] === 1),
            Effect.retry({ schedule: Schedule.spaced("200 millis"), times: 100 }),
            Effect.orElse(() => query(shared.database, "select type, published_at from outbox", []))
          )
          expect(processed).toHaveLength(1)
          expect(processed[0]).toMatchObject({ consumed: 1 })
          expect(processed[0]?.["published_at"]).not.toBeNull()
          expect(yield* storedObjects).toBe(0)
          s3.destroy()

          // A rate limit counts the requests to both servers.
          const attacker = clientAddress()
          const attempt = (server: string) =>
            raw(`${server}/auth/login`, {
              method: "POST",
              ...json({ email: `nobody-${randomUUID()}@example.com`, password: "wrong password" }, attacker)
            })
          for (let hit = 0; hit < AUTH_LIMIT; hit++) {
            expect((yield* attempt(hit % 2 === 0 ? a : b)).status).toBe(401)
          }
          expect((yield* attempt(a)).status).toBe(429)
          expect((yield* attempt(b)).status).toBe(429)

          // A session revoked through one server is refused by the other on its next request.
          expect((yield* raw(`${b}/users/profile`, bearer(accessToken))).status).toBe(200)
          const loggedOut = yield* raw(`${a}/auth/logout`, {
            method: "POST",
            ...json({ refreshToken }, clientAddress(), accessToken)
          })
          expect(loggedOut.status).toBe(204)
          expect((yield* raw(`${b}/users/profile`, bearer(accessToken))).status).toBe(401)
        }),
      { timeout: 180_000 }
    )
  }
)
