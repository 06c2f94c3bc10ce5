import { Effect } from "effect"
import pg from "pg"

/**
 * A database of its own for one suite, created on the server TEST_DATABASE_URL points at and dropped
 * afterwards, so suites never see each other's rows and reruns start clean.
 */
export const freshPostgresDatabase = (adminUrl: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const name = `plinth_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
      const admin = new pg.Client({ connectionString: adminUrl })
      await admin.connect()
      await admin.query(`create database ${name}`)
      await admin.end()
      const url = new URL(adminUrl)
      url.pathname = `/${name}`
      return { name, url: url.toString() }
    }),
    ({ name }) =>
      Effect.promise(async () => {
        const admin = new pg.Client({ connectionString: adminUrl })
        await admin.connect()
        await admin.query(`drop database if exists ${name} with (force)`)
        await admin.end()
      })
  ).pipe(Effect.map(({ url }) => url))
