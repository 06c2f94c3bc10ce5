import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Either, Layer, Redacted } from "effect"
import { spawn } from "node:child_process"
import { Cache } from "../src/layers/cache.js"
import { makeCacheRedis } from "../src/layers/cache/redis.js"
import { SqlClient } from "../src/layers/database.js"
import { makePostgresClient } from "../src/layers/database/postgres.js"
import { issueCertificates } from "./support/certificates.js"
import { exitOf, spawnServer, waitUntilReady } from "./support/process.js"
import { redisServerInstalled } from "./support/redis-topologies.js"
import { freePort, raw } from "./support/server.js"
import { serviceUrl } from "./support/services.js"
import { tempDir } from "./support/settings.js"

const databaseUrl = serviceUrl("TEST_DATABASE_URL")

/** redis-server accepting TLS only, with a certificate from a private CA; stopped with the scope. */
const startTlsRedis = (certificates: ReturnType<typeof issueCertificates>) =>
  Effect.gen(function* () {
    const port = yield* freePort()
    yield* Effect.acquireRelease(
      Effect.async<ReturnType<typeof spawn>>((resume) => {
        const child = spawn(
          "redis-server",
          [
            ...["--port", "0", "--tls-port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            ...["--dir", tempDir("redis-tls"), "--tls-auth-clients", "no"],
            ...["--tls-cert-file", certificates.certFile, "--tls-key-file", certificates.keyFile],
            ...["--tls-ca-cert-file", certificates.caFile]
          ],
          { stdio: ["ignore", "pipe", "pipe"] }
        )
        let output = ""
        child.stdout?.on("data", (chunk: Buffer) => {
          output += chunk.toString()
          if (output.includes("Ready to accept connections")) resume(Effect.succeed(child))
        })
        child.once("exit", (code) => resume(Effect.dieMessage(`redis-server exited with ${code}: ${output}`)))
      }),
      (child) => Effect.sync(() => child.kill("SIGKILL"))
    )
    return port
  })

describe("TLS to the backing services", () => {
  it.scopedLive.runIf(redisServerInstalled)(
    "reaches Redis over rediss:// with a private CA given through NODE_EXTRA_CA_CERTS, and verifies the server",
    () =>
      Effect.gen(function* () {
        const certificates = issueCertificates()
        const redisPort = yield* startTlsRedis(certificates)
        const redisUrl = `rediss://127.0.0.1:${redisPort}`

        // Without the CA the certificate is not trusted: the connection fails instead of going unverified.
        const untrusted = yield* Effect.map(
          Layer.build(makeCacheRedis({ url: Redacted.make(redisUrl) })),
          Context.get(Cache)
        )
        expect(Either.isLeft(yield* Effect.either(untrusted.ping))).toBe(true)

        const port = yield* freePort()
        const url = `http://127.0.0.1:${port}`
        const server = yield* spawnServer({
          PORT: String(port),
          HOST: "127.0.0.1",
          DATA_DIR: tempDir("backend-tls"),
          MODE: "server",
          REDIS_URL: redisUrl,
          NODE_EXTRA_CA_CERTS: certificates.caFile
        })
        yield* Effect.addFinalizer(() =>
          Effect.suspend(() =>
            server.child.exitCode === null ? (server.child.kill("SIGTERM"), Effect.asVoid(exitOf(server))) : Effect.void
          )
        )
        expect(yield* waitUntilReady(url, 90)).toBe(true)
        const ready = yield* raw(`${url}/health/ready`)
        expect(ready.json).toMatchObject({ checks: { cache: "up" } })
      }),
    { timeout: 150_000 }
  )

  it.scopedLive.runIf(databaseUrl !== undefined)(
    "passes sslmode in DATABASE_URL to the driver: require refuses a server without TLS",
    () =>
      Effect.gen(function* () {
        const url = new URL(databaseUrl ?? "")
        url.searchParams.set("sslmode", "require")
        const plain = yield* Layer.build(
          makePostgresClient({ url: Redacted.make(url.toString()), maxConnections: 1 })
        ).pipe(
          Effect.map(Context.get(SqlClient.SqlClient)),
          Effect.flatMap((sql) => sql`show ssl`),
          Effect.either
        )
        // The test server runs without TLS; should it ever gain it, the query runs over TLS instead.
        if (Either.isRight(plain)) {
          expect(plain.right).toEqual([{ ssl: "on" }])
        } else {
          expect(String(plain.left.cause ?? plain.left)).toMatch(/does not support SSL/i)
        }
      }),
    { timeout: 30_000 }
  )
})
