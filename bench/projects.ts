import { randomBytes } from "node:crypto"
import { startS3rver } from "../test/support/s3rver.js"
import { load, median, printLoadTable, registerBenchUser, start, stop, unlimitedAuth } from "./support.js"

const json = { "content-type": "application/json" }
const MiB = 1024 * 1024
const FILE_BYTES = 10 * MiB
const TRANSFERS = 5
const LISTED = 200

const call = async (url: string, init: RequestInit) => {
  const response = await fetch(url, init)
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${await response.text()}`)
  return response
}

/** Seconds for one 10 MiB upload, and for downloading it back (the body read to its end). */
const transfer = async (url: string, headers: Record<string, string>, projectId: string, body: Buffer) => {
  const started = performance.now()
  const uploaded = await call(`${url}/projects/${projectId}/files?name=bench.bin`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/octet-stream" },
    body
  })
  const { id } = (await uploaded.json()) as { id: string }
  const stored = performance.now()
  const downloaded = await call(`${url}/files/${id}/content`, { headers })
  let read = 0
  for await (const chunk of downloaded.body ?? new ReadableStream<Uint8Array>()) read += chunk.byteLength
  if (read !== body.length) throw new Error(`downloaded ${read} of ${body.length} bytes`)
  return { upload: (stored - started) / 1000, download: (performance.now() - stored) / 1000 }
}

/**
 * The projects hot paths, and file transfer rates. BENCH_S3=s3rver stores files in an s3rver started here
 * (next to BENCH_DATABASE_URL and BENCH_REDIS_URL for the PostgreSQL + Redis + S3 figures).
 */
export const projects = async () => {
  const s3 = process.env["BENCH_S3"] === "s3rver" ? await startS3rver() : undefined
  const server = await start({
    env: {
      ...unlimitedAuth,
      ...(s3 === undefined
        ? {}
        : {
            S3_BUCKET: s3.bucket,
            S3_ENDPOINT: s3.endpoint,
            S3_FORCE_PATH_STYLE: "true",
            AWS_ACCESS_KEY_ID: "S3RVER",
            AWS_SECRET_ACCESS_KEY: "S3RVER"
          })
    }
  })
  try {
    const { authorization } = await registerBenchUser(server)
    const created = await Promise.all(
      Array.from({ length: LISTED }, (_, i) =>
        call(`${server.url}/projects`, {
          method: "POST",
          headers: { ...authorization, ...json },
          body: JSON.stringify({ name: `Listed ${i}` })
        }).then(async (response) => ((await response.json()) as { id: string }).id)
      )
    )
    const projectId = created[0]!

    const row = printLoadTable(`Projects${s3 === undefined ? "" : ", files in S3 (s3rver)"}`)
    row(
      "GET /projects?limit=20",
      50,
      await load(() => ({ url: `${server.url}/projects?limit=20`, connections: 50, headers: authorization }))
    )
    row(
      "GET /projects/{id}",
      50,
      await load(() => ({ url: `${server.url}/projects/${projectId}`, connections: 50, headers: authorization }))
    )
    row(
      "POST /projects",
      20,
      await load(() => ({
        url: `${server.url}/projects`,
        connections: 20,
        method: "POST",
        headers: { ...authorization, ...json },
        body: JSON.stringify({ name: "Bench project", description: "created under load" })
      }))
    )

    const body = randomBytes(FILE_BYTES)
    const runs: Array<{ upload: number; download: number }> = []
    for (let run = 0; run < TRANSFERS; run++) runs.push(await transfer(server.url, authorization, projectId, body))
    const rate = (seconds: ReadonlyArray<number>) => (FILE_BYTES / MiB / median(seconds)).toFixed(1)
    console.log(`\n| transfer of a 10 MiB file (median of ${TRANSFERS}) | MiB/s |`)
    console.log("| --- | --- |")
    console.log(`| upload (POST /projects/{id}/files) | ${rate(runs.map((r) => r.upload))} |`)
    console.log(`| download (GET /files/{id}/content) | ${rate(runs.map((r) => r.download))} |`)
  } finally {
    await stop(server)
    await s3?.close()
  }
}
