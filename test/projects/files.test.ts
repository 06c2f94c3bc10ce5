import { createHash, randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { request as httpRequest } from "node:http"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Option, Schedule, Stream } from "effect"
import type { Role } from "../../src/services/identity/schema.js"
import {
  accountWithRole,
  apiClient,
  expectNothingLeaked,
  expectProblem,
  loginAdmin,
  register,
  responseBodies
} from "../identity/harness.js"
import { exitOf, spawnServer, waitUntilReady } from "../support/process.js"
import { freePort, TestServer } from "../support/server.js"
import { tempDir } from "../support/settings.js"
import { Backstage, backends, MiB, projectsClient, projectsServer, send } from "./harness.js"

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

const newProject = (token: string, name = "Files") =>
  Effect.flatMap(projectsClient(token), (client) => client.projects.create({ payload: { name } }))

const upload = (
  token: string,
  projectId: string,
  body: Uint8Array | ReadableStream<Uint8Array>,
  options: { readonly name?: string; readonly contentType?: string; readonly headers?: Record<string, string> } = {}
) =>
  send(`/projects/${projectId}/files?name=${encodeURIComponent(options.name ?? "data.bin")}`, {
    method: "POST",
    token,
    headers: {
      ...(options.contentType === undefined ? {} : { "content-type": options.contentType }),
      ...options.headers
    },
    body,
    ...(body instanceof ReadableStream ? { duplex: "half" } : {})
  })

/** `total` random bytes in 64 KiB chunks, made as they are read, with their sha256 once all were read. */
const generated = (total: number, gate?: { readonly after: number; readonly open: Promise<void> }) => {
  const hash = createHash("sha256")
  let sent = 0
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (gate !== undefined && sent >= gate.after) await gate.open
      if (sent >= total) return controller.close()
      const chunk = randomBytes(Math.min(64 * 1024, total - sent))
      hash.update(chunk)
      sent += chunk.length
      controller.enqueue(chunk)
    }
  })
  return { stream, sent: () => sent, digest: () => hash.digest("hex") }
}

const gate = () => {
  let open: () => void = () => undefined
  const opened = new Promise<void>((resolve) => (open = resolve))
  return { opened, open }
}

const waitFor = <A, E, R>(probe: Effect.Effect<A, E, R>, done: (value: A) => boolean, what: string) =>
  probe.pipe(
    Effect.filterOrFail(done, () => new Error(`still waiting: ${what}`)),
    Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 300 }),
    Effect.orDie
  )

const countRows = (query: "files" | "pending_uploads", projectId?: string) =>
  Effect.flatMap(Backstage, ({ sql }) =>
    (query === "files"
      ? sql<{ n: number }>`select count(*)::int as n from files where project_id = ${projectId ?? null}`
      : sql<{ n: number }>`select count(*)::int as n from pending_uploads`
    ).pipe(
      Effect.map(([row]) => row?.n ?? 0),
      Effect.orDie
    )
  )

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024

describe.each(backends)("Files on $name", (backend) => {
  layer(projectsServer(backend), { timeout: "300 seconds", excludeTestServices: true })((it) => {
    it.effect("uploads through the typed client, then reads, lists and downloads the file with its headers", () =>
      Effect.gen(function* () {
        const owner = yield* register()
        const token = owner.auth.accessToken
        const client = yield* projectsClient(token)
        const project = yield* newProject(token)
        const bytes = randomBytes(200_000)
        const file = yield* client.files.upload({
          path: { id: project.id },
          urlParams: { name: "report.pdf" },
          headers: { "content-type": "application/pdf" },
          payload: bytes
        })
        expect(file).toMatchObject({
          projectId: project.id,
          name: "report.pdf",
          contentType: "application/pdf",
          size: bytes.length,
          sha256: sha256(bytes)
        })
        expect(yield* client.files.get({ path: { id: file.id } })).toEqual(file)
        const page = yield* client.files.list({ path: { id: project.id }, urlParams: { limit: 20 } })
        expect(page.items).toEqual([file])
        expect(page.nextCursor).toBeNull()
        const downloaded = yield* client.files.content({ path: { id: file.id } })
        expect(sha256(downloaded)).toBe(file.sha256)

        const response = yield* send(`/files/${file.id}/content`, { token })
        expect(response.status).toBe(200)
        expect(sha256(response.body)).toBe(file.sha256)
        expect(Object.fromEntries(response.headers)).toMatchObject({
          "content-type": "application/pdf",
          "content-length": String(bytes.length),
          etag: `"${file.sha256}"`,
          "cache-control": "private, max-age=300",
          "accept-ranges": "bytes",
          "content-disposition": `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`,
          "x-content-type-options": "nosniff"
        })

        const { sql } = yield* Backstage
        const [row] = yield* sql<{ storageKey: string }>`select storage_key from files where id = ${file.id}`
        expect(row?.storageKey).toBe(`projects/${project.id}/files/${file.id}`)
        expect(yield* countRows("pending_uploads")).toBe(0)
        const events = yield* sql<{ type: string }>`
          select type from outbox where payload->'payload'->>'fileId' = ${file.id}`
        expect(events.map((event) => event.type)).toEqual(["file.uploaded"])
      })
    )

    it.effect("lists a project's files newest first, page by page", () =>
      Effect.gen(function* () {
        const token = (yield* register()).auth.accessToken
        const client = yield* projectsClient(token)
        const project = yield* newProject(token)
        const uploaded: Array<string> = []
        for (let i = 0; i < 5; i++) {
          const response = yield* upload(token, project.id, Buffer.from(`file ${i}`), {
            name: `f${i}.txt`,
            contentType: "text/plain"
          })
          expect(response.status).toBe(201)
          uploaded.push((response.json as { id: string }).id)
        }
        const seen: Array<string> = []
        let cursor: string | undefined = undefined
        do {
          const page: { items: ReadonlyArray<{ id: string }>; nextCursor: string | null } = yield* client.files.list({
            path: { id: project.id },
            urlParams: { limit: 2, ...(cursor === undefined ? {} : { cursor }) }
          })
          seen.push(...page.items.map((item) => item.id))
          cursor = page.nextCursor ?? undefined
        } while (cursor !== undefined)
        expect(seen).toEqual([...uploaded].reverse())
        expectProblem(yield* send(`/projects/${project.id}/files?cursor=garbage`, { token }), 400, "validation-failed")
      })
    )

    it.effect("refuses uploads without a content type, a name or a valid target, and sanitises names", () =>
      Effect.gen(function* () {
        const token = (yield* register()).auth.accessToken
        const project = yield* newProject(token)
        const bytes = Buffer.from("hello")
        expectProblem(yield* upload(token, project.id, bytes), 415, "unsupported-media-type")
        expect((yield* upload(token, project.id, bytes, { contentType: "" })).status).toBe(415)
        expect((yield* upload(token, project.id, bytes, { contentType: "not a type" })).status).toBe(415)
        const unnamed = yield* send(`/projects/${project.id}/files`, {
          method: "POST",
          token,
          headers: { "content-type": "text/plain" },
          body: bytes
        })
        expect(unnamed.status).toBe(400)
        expect(unnamed.json).toMatchObject({ errors: [{ path: "name" }] })
        const empty = yield* upload(token, project.id, bytes, { name: "dir/\u0001\u202e ", contentType: "text/plain" })
        expect(empty.status).toBe(400)
        expect(empty.json).toMatchObject({ errors: [{ path: "name" }] })
        const missing = yield* upload(token, "00000000-0000-4000-8000-000000000000", bytes, {
          contentType: "text/plain"
        })
        expect(missing.status).toBe(404)
        expect((yield* upload(token, "not-a-uuid", bytes, { contentType: "text/plain" })).status).toBe(400)

        // A form or a "text" body is a file like any other here: the JSON and form guards leave uploads alone.
        for (const contentType of ["multipart/form-data; boundary=x", "text/csv", "application/json"]) {
          const response = yield* upload(token, project.id, randomBytes(2 * MiB), { contentType })
          expect(response.status, contentType).toBe(201)
          expect(response.json).toMatchObject({ contentType, size: 2 * MiB })
        }

        const names = [
          ["../../etc/passwd", "passwd"],
          ["C:\\Users\\ada\\photo.jpg", "photo.jpg"],
          ["evil\r\nSet-Cookie: x=1.txt", "evilSet-Cookie: x=1.txt"],
          ["invoice\u202efdp.exe", "invoicefdp.exe"],
          ["  Ünïcödé résumé.pdf  ", "Ünïcödé résumé.pdf"],
          ['quo"te.txt', 'quo"te.txt']
        ] as const
        for (const [given, kept] of names) {
          const response = yield* upload(token, project.id, bytes, { name: given, contentType: "text/plain" })
          expect(response.status, given).toBe(201)
          const file = response.json as { id: string; name: string }
          expect(file.name).toBe(kept)
          const content = yield* send(`/files/${file.id}/content`, { token })
          const disposition = content.headers.get("content-disposition") ?? ""
          expect(disposition).toMatch(/^attachment; filename="[\x20-\x7e]*"; filename\*=UTF-8''[A-Za-z0-9%._~!-]*$/)
          expect(decodeURIComponent(disposition.split("''")[1] ?? "")).toBe(kept)
        }
      })
    )

    it.effect("serves single ranges with 206, refuses unsatisfiable ones with 416, and ignores the rest", () =>
      Effect.gen(function* () {
        const token = (yield* register()).auth.accessToken
        const project = yield* newProject(token)
        const bytes = randomBytes(300_000)
        const file = (yield* upload(token, project.id, bytes, { contentType: "application/octet-stream" })).json as {
          id: string
          sha256: string
        }
        const etag = `"${file.sha256}"`
        const ranged = (range: string, headers: Record<string, string> = {}) =>
          send(`/files/${file.id}/content`, { token, headers: { range, ...headers } })

        const cases = [
          // s3rver 3.7 reads the end 0 of `bytes=0-0` as "to the end"; S3 itself serves the one byte.
          ...(backend.s3 ? [] : ([["bytes=0-0", 0, 0]] as const)),
          ["bytes=1-1", 1, 1],
          ["bytes=65530-65545", 65530, 65545],
          ["bytes=100000-", 100000, 299999],
          ["bytes=-1000", 299000, 299999],
          ["bytes=299990-400000", 299990, 299999],
          ["bytes=-999999", 0, 299999]
        ] as const
        for (const [range, start, end] of cases) {
          const response = yield* ranged(range)
          expect(response.status, range).toBe(206)
          expect(response.headers.get("content-range")).toBe(`bytes ${start}-${end}/300000`)
          expect(response.headers.get("content-length")).toBe(String(end - start + 1))
          expect(response.headers.get("etag")).toBe(etag)
          expect(response.body.equals(bytes.subarray(start, end + 1)), range).toBe(true)
        }
        for (const range of ["bytes=300000-", "bytes=500000-600000", "bytes=-0"]) {
          const response = yield* ranged(range)
          expectProblem(response, 416, "range-not-satisfiable")
          expect(response.headers.get("content-range")).toBe("bytes */300000")
        }
        for (const range of ["bytes=0-1,5-6", "items=0-1", "bytes=5-1", "bytes=x-y"]) {
          const response = yield* ranged(range)
          expect(response.status, range).toBe(200)
          expect(response.body.length).toBe(bytes.length)
        }
        expect((yield* ranged("bytes=0-9", { "if-range": etag })).status).toBe(206)
        expect((yield* ranged("bytes=0-9", { "if-range": '"something-else"' })).status).toBe(200)
      })
    )

    it.effect("answers If-None-Match with 304, on the content and on the metadata", () =>
      Effect.gen(function* () {
        const token = (yield* register()).auth.accessToken
        const project = yield* newProject(token)
        const file = (yield* upload(token, project.id, randomBytes(1000), { contentType: "image/png" })).json as {
          id: string
          sha256: string
        }
        const etag = `"${file.sha256}"`
        for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
          const response = yield* send(`/files/${file.id}/content`, {
            token,
            headers: { "if-none-match": ifNoneMatch }
          })
          expect(response.status, ifNoneMatch).toBe(304)
          expect(response.headers.get("etag")).toBe(etag)
          expect(response.headers.get("cache-control")).toBe("private, max-age=300")
          expect(response.body.length).toBe(0)
        }
        expect(
          (yield* send(`/files/${file.id}/content`, { token, headers: { "if-none-match": '"other"' } })).status
        ).toBe(200)

        const metadata = yield* send(`/files/${file.id}`, { token })
        const metadataEtag = metadata.headers.get("etag") ?? ""
        expect(metadataEtag).not.toBe("")
        const again = yield* send(`/files/${file.id}`, { token, headers: { "if-none-match": metadataEtag } })
        expect(again.status).toBe(304)
      })
    )

    it.effect("deleting a file answers 204, hides it at once and purges its object", () =>
      Effect.gen(function* () {
        const token = (yield* register()).auth.accessToken
        const project = yield* newProject(token)
        const file = (yield* upload(token, project.id, randomBytes(1000), { contentType: "text/plain" })).json as {
          id: string
        }
        const { storage, sql } = yield* Backstage
        const key = `projects/${project.id}/files/${file.id}`
        expect(Option.isSome(yield* storage.head(key))).toBe(true)
        expect((yield* send(`/files/${file.id}`, { method: "DELETE", token })).status).toBe(204)
        for (const path of [`/files/${file.id}`, `/files/${file.id}/content`]) {
          expect((yield* send(path, { token })).status).toBe(404)
        }
        expect((yield* send(`/files/${file.id}`, { method: "DELETE", token })).status).toBe(404)
        yield* waitFor(Effect.map(storage.head(key), Option.isNone), (gone) => gone, "the object purged")
        const events = yield* sql<{ type: string }>`
          select type from outbox
          where payload->'payload'->>'fileId' = ${file.id} or payload->'payload'->'keys' ? ${key}
          order by occurred_at`
        expect(events.map((event) => event.type).sort()).toEqual([
          "file.deleted",
          "file.uploaded",
          "storage.purge_requested"
        ])
      })
    )

    const roles: ReadonlyArray<Role> = ["guest", "user", "moderator", "admin"]
    for (const role of roles) {
      const mayChangeAny = role === "moderator" || role === "admin"
      it.effect(
        `${role}: reads any project's files; ${mayChangeAny ? "uploads and deletes any" : "changes only own, as a user"}`,
        () =>
          Effect.gen(function* () {
            const owner = yield* register()
            const ownerToken = owner.auth.accessToken
            const project = yield* newProject(ownerToken)
            const theirs = (yield* upload(ownerToken, project.id, randomBytes(100), { contentType: "text/plain" }))
              .json as { id: string }
            const account = yield* accountWithRole(role)
            const token = account.auth.accessToken

            expect((yield* send(`/projects/${project.id}/files`, { token })).status).toBe(200)
            expect((yield* send(`/files/${theirs.id}`, { token })).status).toBe(200)
            expect((yield* send(`/files/${theirs.id}/content`, { token })).status).toBe(200)

            const uploadTheirs = yield* upload(token, project.id, randomBytes(100), { contentType: "text/plain" })
            const deleteTheirs = yield* send(`/files/${theirs.id}`, { method: "DELETE", token })
            if (mayChangeAny) {
              expect(uploadTheirs.status).toBe(201)
              expect(deleteTheirs.status).toBe(204)
            } else {
              expect(uploadTheirs.status).toBe(403)
              expect(deleteTheirs.status).toBe(403)
              expect((yield* send(`/files/${theirs.id}`, { token })).status).toBe(200)
            }

            if (role === "user") {
              const own = yield* newProject(token)
              const mine = yield* upload(token, own.id, randomBytes(100), { contentType: "text/plain" })
              expect(mine.status).toBe(201)
              const id = (mine.json as { id: string }).id
              expect((yield* send(`/files/${id}`, { method: "DELETE", token })).status).toBe(204)
            }
            if (role === "guest") {
              // A user demoted to guest keeps their projects but may no longer change them.
              const demoted = yield* register()
              const own = yield* newProject(demoted.auth.accessToken)
              const admin = yield* apiClient((yield* loginAdmin).accessToken)
              yield* admin.admin.updateUser({ path: { id: demoted.auth.user.id }, payload: { role: "guest" } })
              const refused = yield* upload(demoted.auth.accessToken, own.id, randomBytes(10), {
                contentType: "text/plain"
              })
              expect(refused.status).toBe(403)
            }
          })
      )
    }

    it.effect(
      "refuses a 26 MiB upload with 413 and leaves nothing in storage or in the database",
      () =>
        Effect.gen(function* () {
          const token = (yield* register()).auth.accessToken
          const project = yield* newProject(token)
          const { leftovers } = yield* Backstage
          const before = yield* leftovers(project.id)
          const body = generated(26 * MiB)
          const response = yield* upload(token, project.id, body.stream, { contentType: "application/zip" })
          expectProblem(response, 413, "payload-too-large")
          expect(response.json).toMatchObject({ limit: 25 * MiB })
          expect(yield* countRows("files", project.id)).toBe(0)
          expect(yield* countRows("pending_uploads")).toBe(0)
          const after = yield* leftovers(project.id)
          expect(after.filter((entry) => !before.includes(entry))).toEqual([])
          expect(
            (yield* projectsClient(token).pipe(
              Effect.flatMap((c) => c.files.list({ path: { id: project.id }, urlParams: { limit: 20 } }))
            )).items
          ).toEqual([])
        }),
      { timeout: 120_000 }
    )

    it.effect("answers a declared Content-Length over the limit with 413 before reading the body", () =>
      Effect.gen(function* () {
        const token = (yield* register()).auth.accessToken
        const project = yield* newProject(token)
        const { url } = yield* TestServer
        const response = yield* Effect.async<{ status: number; body: string }>((resume) => {
          const request = httpRequest(
            `${url}/projects/${project.id}/files?name=big.iso`,
            {
              method: "POST",
              headers: {
                authorization: `Bearer ${token}`,
                "content-type": "application/octet-stream",
                "content-length": String(30 * MiB)
              }
            },
            (answer) => {
              let body = ""
              answer.on("data", (chunk: Buffer) => (body += chunk.toString()))
              answer.on("end", () => resume(Effect.succeed({ status: answer.statusCode ?? 0, body })))
            }
          )
          request.on("error", (error) => resume(Effect.die(error)))
          // One KiB of the thirty MiB announced: an answer can only come from the declared length.
          request.write(Buffer.alloc(1024))
          return Effect.sync(() => request.destroy())
        }).pipe(Effect.timeout("10 seconds"))
        expect(response.status).toBe(413)
        expect(JSON.parse(response.body)).toMatchObject({ status: 413, limit: 25 * MiB })
        expect(yield* countRows("pending_uploads")).toBe(0)
      })
    )

    it.effect("an upload the client abandons mid-body leaves nothing behind", () =>
      Effect.gen(function* () {
        const token = (yield* register()).auth.accessToken
        const project = yield* newProject(token)
        const { leftovers } = yield* Backstage
        const { url } = yield* TestServer
        const before = yield* leftovers(project.id)
        const request = yield* Effect.sync(() => {
          const request = httpRequest(`${url}/projects/${project.id}/files?name=abandoned.bin`, {
            method: "POST",
            headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" }
          })
          request.on("error", () => undefined)
          request.write(randomBytes(2 * MiB))
          return request
        })
        yield* waitFor(countRows("pending_uploads"), (n) => n === 1, "the upload's reservation")
        yield* Effect.sync(() => request.destroy())
        yield* waitFor(countRows("pending_uploads"), (n) => n === 0, "the reservation released")
        expect(yield* countRows("files", project.id)).toBe(0)
        const after = yield* leftovers(project.id)
        expect(after.filter((entry) => !before.includes(entry))).toEqual([])
      })
    )

    it.effect("stores and serves an empty file", () =>
      Effect.gen(function* () {
        const token = (yield* register()).auth.accessToken
        const project = yield* newProject(token)
        const created = yield* upload(token, project.id, new Uint8Array(), { contentType: "text/plain" })
        expect(created.status).toBe(201)
        const file = created.json as { id: string; size: number; sha256: string }
        expect(file).toMatchObject({ size: 0, sha256: sha256(new Uint8Array()) })
        const content = yield* send(`/files/${file.id}/content`, { token })
        expect(content.status).toBe(200)
        expect(content.headers.get("content-length")).toBe("0")
        expect(content.body.length).toBe(0)
        expectProblem(yield* send(`/files/${file.id}/content`, { token, headers: { range: "bytes=0-" } }), 416)
      })
    )

    it.effect("a project deleted mid-upload: the row cannot be written, so the stored object is removed", () =>
      Effect.gen(function* () {
        const token = (yield* register()).auth.accessToken
        const project = yield* newProject(token)
        const { leftovers, sql } = yield* Backstage
        const before = yield* leftovers(project.id)
        const { opened, open } = gate()
        const body = generated(3 * MiB, { after: MiB, open: opened })
        const pending = yield* Effect.fork(upload(token, project.id, body.stream, { contentType: "text/plain" }))
        yield* waitFor(countRows("pending_uploads"), (n) => n === 1, "the upload's reservation")
        expect((yield* send(`/projects/${project.id}`, { method: "DELETE", token })).status).toBe(204)
        open()
        const response = yield* pending.await.pipe(Effect.flatten)
        expect(response.status).toBe(404)
        expect(response.json).toMatchObject({ detail: "No such project" })
        expect(yield* countRows("pending_uploads")).toBe(0)
        const after = yield* leftovers(project.id)
        expect(after.filter((entry) => !before.includes(entry))).toEqual([])
        const purges = yield* sql<{ keys: ReadonlyArray<string> }>`
          select payload->'payload'->'keys' as keys from outbox
          where type = 'storage.purge_requested' and payload->'payload'->'keys'->>0 like ${`projects/${project.id}/%`}`
        expect(purges).toHaveLength(1)
      })
    )

    it.effect("an upload that crashed after storing its object is purged by the sweeper", () =>
      Effect.gen(function* () {
        const token = (yield* register()).auth.accessToken
        const project = yield* newProject(token)
        const { sql, storage, files } = yield* Backstage
        const crashed = `projects/${project.id}/files/00000000-0000-4000-8000-00000000dead`
        const inFlight = `projects/${project.id}/files/00000000-0000-4000-8000-0000000f11e5`
        // What a process that died between the object and its row leaves: a stale reservation and its object.
        yield* sql`insert into pending_uploads (storage_key, created_at) values (${crashed}, now() - interval '2 hours')`
        yield* sql`insert into pending_uploads (storage_key) values (${inFlight})`
        yield* storage.put(crashed, Stream.make(new Uint8Array(10)), { contentType: "text/plain" })
        expect(yield* files.purgeAbandonedUploads("1 hour")).toBe(1)
        yield* waitFor(Effect.map(storage.head(crashed), Option.isNone), (gone) => gone, "the crashed upload purged")
        const left = yield* sql<{ storageKey: string }>`select storage_key from pending_uploads`
        expect(left.map((row) => row.storageKey)).toEqual([inFlight])
        yield* sql`delete from pending_uploads where storage_key = ${inFlight}`
      })
    )

    it.effect(
      "a 20 MiB upload and download keep sha256 equality while the server's RSS grows by less than 40 MiB",
      () =>
        Effect.gen(function* () {
          // The server runs as its own process, so its RSS is measured without the test's own allocations.
          const { spawnEnv } = yield* Backstage
          const env = yield* spawnEnv
          const port = yield* freePort()
          const url = `http://127.0.0.1:${port}`
          const server = yield* Effect.acquireRelease(
            spawnServer({ ...env, PORT: String(port), HOST: "127.0.0.1", DATA_DIR: tempDir("rss"), LOG_LEVEL: "warn" }),
            (server) =>
              Effect.zipRight(
                Effect.sync(() => server.child.kill("SIGTERM")),
                exitOf(server)
              )
          )
          const ready = yield* Effect.raceFirst(waitUntilReady(url, 90), Effect.as(exitOf(server), false))
          expect(ready, server.output()).toBe(true)
          const pid = server.child.pid ?? 0
          const call = (path: string, init: RequestInit = {}) => Effect.promise(() => fetch(`${url}${path}`, init))
          const auth = (yield* Effect.promise(async () =>
            (
              await fetch(`${url}/auth/register`, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ email: "rss@example.com", password: "rss-password-1", name: "RSS" })
              })
            ).json()
          )) as { accessToken: string }
          const authorization = `Bearer ${auth.accessToken}`
          const project = (yield* Effect.promise(async () =>
            (
              await fetch(`${url}/projects`, {
                method: "POST",
                headers: { authorization, "content-type": "application/json" },
                body: JSON.stringify({ name: "RSS" })
              })
            ).json()
          )) as { id: string }
          const roundTrip = (size: number) =>
            Effect.gen(function* () {
              const body = generated(size)
              const response = yield* call(`/projects/${project.id}/files?name=big.bin`, {
                method: "POST",
                headers: { authorization, "content-type": "application/octet-stream" },
                body: body.stream,
                duplex: "half"
              } as RequestInit)
              const file = (yield* Effect.promise(() => response.json())) as {
                id: string
                sha256: string
                size: number
              }
              expect(response.status).toBe(201)
              expect(file).toMatchObject({ size, sha256: body.digest() })
              const download = yield* call(`/files/${file.id}/content`, { headers: { authorization } })
              const hash = createHash("sha256")
              yield* Effect.promise(async () => {
                for await (const chunk of download.body ?? new ReadableStream()) hash.update(chunk as Uint8Array)
              })
              expect(hash.digest("hex")).toBe(file.sha256)
            })
          // Warm up the paths (JIT, pools, the young generation, S3's part buffers: 6 MiB is more than one part) so
          // the baseline is the server's steady state, and what grows past it is what the 20 MiB file itself costs.
          yield* roundTrip(2 * MiB)
          yield* roundTrip(6 * MiB)
          const baseline = rssMiB(pid)
          let peak = baseline
          const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 10)
          yield* roundTrip(20 * MiB).pipe(Effect.ensuring(Effect.sync(() => clearInterval(sampler))))
          expect(peak - baseline, `RSS ${baseline.toFixed(1)} MiB before, ${peak.toFixed(1)} MiB at most`).toBeLessThan(
            40
          )
        }).pipe(Effect.scoped),
      { timeout: 180_000 }
    )

    it.effect("leaks nothing internal in any response body", () =>
      Effect.sync(() => expectNothingLeaked(responseBodies))
    )
  })
})

const s3Backend = backends.find((backend) => backend.s3)

describe.runIf(s3Backend !== undefined)("Files on S3 with STORAGE_REDIRECTS", () => {
  layer(projectsServer(s3Backend!, { storageRedirects: true }), { timeout: "300 seconds", excludeTestServices: true })(
    (it) => {
      it.effect("redirects downloads to a presigned URL that serves the bytes for a few minutes", () =>
        Effect.gen(function* () {
          const token = (yield* register()).auth.accessToken
          const project = yield* newProject(token)
          const bytes = randomBytes(5000)
          const file = (yield* upload(token, project.id, bytes, { contentType: "image/jpeg" })).json as {
            id: string
            sha256: string
          }
          const response = yield* send(`/files/${file.id}/content`, { token, redirect: "manual" })
          expect(response.status).toBe(302)
          const location = new URL(response.headers.get("location") ?? "")
          expect(location.pathname).toBe(`/plinth-test/projects/${project.id}/files/${file.id}`)
          expect(Number(location.searchParams.get("X-Amz-Expires"))).toBeLessThanOrEqual(600)
          const direct = yield* Effect.promise(() => fetch(location))
          expect(direct.status).toBe(200)
          expect(sha256(Buffer.from(yield* Effect.promise(() => direct.arrayBuffer())))).toBe(file.sha256)
          const conditional = yield* send(`/files/${file.id}/content`, {
            token,
            redirect: "manual",
            headers: { "if-none-match": `"${file.sha256}"` }
          })
          expect(conditional.status).toBe(304)
        })
      )

      it.effect("a storage failure mid-upload answers 503, and nothing of the upload becomes visible", () =>
        Effect.gen(function* () {
          const token = (yield* register()).auth.accessToken
          const project = yield* newProject(token)
          const { s3, sql, leftovers } = yield* Backstage
          const link = Option.getOrThrow(s3)
          const { opened, open } = gate()
          // More than one 5 MiB part, so the multipart upload is under way when the link is cut.
          const body = generated(16 * MiB, { after: 7 * MiB, open: opened })
          const pending = yield* Effect.fork(upload(token, project.id, body.stream, { contentType: "video/mp4" }))
          yield* waitFor(Effect.sync(body.sent), (sent) => sent >= 7 * MiB, "the first parts sent")
          yield* Effect.sleep("500 millis")
          yield* Effect.promise(() => link.proxy.cut())
          open()
          const response = yield* pending.await.pipe(Effect.flatten)
          yield* Effect.promise(() => link.proxy.restore())
          expectProblem(response, 503, "service-unavailable")
          const list = yield* send(`/projects/${project.id}/files`, { token })
          expect(list.json).toMatchObject({ items: [] })
          expect(yield* countRows("files", project.id)).toBe(0)
          expect(yield* countRows("pending_uploads")).toBe(0)
          const purge = yield* sql<{ key: string }>`
            select payload->'payload'->'keys'->>0 as key from outbox
            where type = 'storage.purge_requested' and payload->'payload'->'keys'->>0 like ${`projects/${project.id}/%`}`
          expect(purge).toHaveLength(1)
          yield* waitFor(
            sql<{ n: number }>`select count(*)::int as n from processed_events where consumer = 'storage-purge'
              and event_id in (select id from outbox where type = 'storage.purge_requested'
                and payload->'payload'->'keys'->>0 like ${`projects/${project.id}/%`})`.pipe(
              Effect.map(([row]) => row?.n ?? 0),
              Effect.orDie
            ),
            (n) => n === 1,
            "the purge to run once S3 is back"
          )
          expect((yield* leftovers(project.id)).filter((entry) => entry.startsWith("object projects/"))).toEqual([])
        })
      )
    }
  )
})
