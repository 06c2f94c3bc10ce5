import { load, printLoadTable, start, stop, unlimitedAuth } from "./support.js"

const json = { "content-type": "application/json" }
const PASSWORD = "bench-password-1"

interface Auth {
  readonly accessToken: string
  readonly refreshToken: string
}

const post = async (url: string, body: unknown): Promise<Auth> => {
  const response = await fetch(url, { method: "POST", headers: json, body: JSON.stringify(body) })
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${await response.text()}`)
  return (await response.json()) as Auth
}

/**
 * The identity hot paths. Rate limits are raised for the run: the benchmark is one client address sending
 * thousands of requests a second, which the limits exist to stop.
 */
export const identity = async () => {
  const server = await start({ env: unlimitedAuth })
  const run = Date.now().toString(36)
  let registered = 0
  try {
    const owner = await post(`${server.url}/auth/register`, {
      email: `bench-${run}@example.com`,
      password: PASSWORD,
      name: "Bench Owner"
    })
    const row = printLoadTable("Identity")

    row(
      "GET /users/profile",
      50,
      await load(() => ({
        url: `${server.url}/users/profile`,
        connections: 50,
        headers: { authorization: `Bearer ${owner.accessToken}` }
      }))
    )

    row(
      "POST /auth/login",
      8,
      await load(() => ({
        url: `${server.url}/auth/login`,
        connections: 8,
        method: "POST",
        headers: json,
        body: JSON.stringify({ email: `bench-${run}@example.com`, password: PASSWORD })
      }))
    )

    row(
      "POST /auth/register",
      8,
      await load(() => ({
        url: `${server.url}/auth/register`,
        connections: 8,
        requests: [
          {
            method: "POST",
            headers: json,
            setupRequest: (request) => ({
              ...request,
              body: JSON.stringify({
                email: `bench-${run}-${registered++}@example.com`,
                password: PASSWORD,
                name: "Bench User"
              })
            })
          }
        ]
      }))
    )

    // A pool of live refresh tokens: each request takes one and its response puts the successor back.
    row(
      "POST /auth/refresh",
      8,
      await load(async () => {
        const seeds = await Promise.all(
          Array.from({ length: 8 }, () =>
            post(`${server.url}/auth/login`, { email: `bench-${run}@example.com`, password: PASSWORD })
          )
        )
        const pool = seeds.map((seed) => seed.refreshToken)
        return {
          url: `${server.url}/auth/refresh`,
          connections: 8,
          requests: [
            {
              method: "POST",
              headers: json,
              setupRequest: (request) => ({ ...request, body: JSON.stringify({ refreshToken: pool.shift() }) }),
              onResponse: (status, body) => {
                if (status === 200) pool.push((JSON.parse(body) as Auth).refreshToken)
              }
            }
          ]
        }
      })
    )
  } finally {
    await stop(server)
  }
}
