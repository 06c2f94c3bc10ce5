import { Effect } from "effect"
import pg from "pg"

const runQuery = async (url: string, text: string, values: ReadonlyArray<unknown>) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<Record<string, unknown>>(text, [...values])).rows
  } finally {
    await client.end()
  }
}

const onServer = (adminUrl: string, statement: string) => runQuery(adminUrl, statement, [])

/** A statement on its own connection to `url`, apart from any server under test (and any proxy in its way). */
export const query = (url: string, text: string, values: ReadonlyArray<unknown>) =>
  Effect.promise(() => runQuery(url, text, values))

/** Creates an empty database named `<prefix>_<unique>` on the server of `adminUrl`; answers its name and URL. */
export const createDatabase = async (adminUrl: string, prefix: string) => {
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  await onServer(adminUrl, `create database ${name}`)
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return { name, url: url.toString() }
}

export const dropDatabase = (adminUrl: string, name: string) =>
  onServer(adminUrl, `drop database if exists ${name} with (force)`)

/**
 * A database of its own for one suite, created on the server TEST_DATABASE_URL points at and dropped
 * afterwards, so suites never see each other's rows and reruns start clean.
 */
export const freshPostgresDatabase = (adminUrl: string) =>
  Effect.acquireRelease(
    Effect.promise(() => createDatabase(adminUrl, "plinth_test")),
    ({ name }) => Effect.promise(() => dropDatabase(adminUrl, name))
  ).pipe(Effect.map(({ url }) => url))
