import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import {
  type CryptoKey,
  decodeJwt,
  decodeProtectedHeader,
  generateKeyPair,
  importJWK,
  type JWTPayload,
  SignJWT
} from "jose"
import { createHmac } from "node:crypto"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { TestServer } from "../support/server.js"
import {
  apiClient,
  backends,
  expectNothingLeaked,
  expectProblem,
  identityServer,
  login,
  PASSWORD,
  profileStatus,
  refreshStatus,
  register,
  request,
  responseBodies
} from "./harness.js"

const segment = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url")

const unsigned = (header: object, payload: object) => `${segment(header)}.${segment(payload)}.`

const hs256 = (header: object, payload: object, secret: string | Buffer) => {
  const input = `${segment({ ...header, alg: "HS256" })}.${segment(payload)}`
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`
}

const now = () => Math.floor(Date.now() / 1000)

/** The server's own signing key, read from where the embedded default keeps it. */
const serverSigningKey = Effect.gen(function* () {
  const { settings } = yield* TestServer
  const text = yield* Effect.promise(() => readFile(join(settings.dataDir, "keys", "jwt-signing-keys.json"), "utf8"))
  const [jwk] = JSON.parse(text) as ReadonlyArray<{ kty: string; crv: string; x: string; d: string; kid: string }>
  const key = yield* Effect.promise(() => importJWK({ ...jwk!, alg: "EdDSA" }, "EdDSA"))
  return { jwk: jwk!, key }
})

const signEd25519 = (payload: JWTPayload, key: CryptoKey | Uint8Array, kid: string) =>
  Effect.promise(() => new SignJWT(payload).setProtectedHeader({ alg: "EdDSA", kid, typ: "JWT" }).sign(key))

const refreshRaw = (refreshToken: string) => request("POST", "/auth/refresh", { body: { refreshToken } })

describe.each(backends)("Access and refresh tokens on $name", (backend) => {
  layer(identityServer(backend), { timeout: "120 seconds", excludeTestServices: true })((it) => {
    it.effect("refuses a missing, malformed or non-Bearer Authorization with a 401 problem", () =>
      Effect.gen(function* () {
        const account = yield* register()
        const headers: ReadonlyArray<Record<string, string>> = [
          {},
          { authorization: "" },
          { authorization: "Bearer" },
          { authorization: "Bearer " },
          { authorization: "Bearer garbage" },
          { authorization: "Bearer a.b.c" },
          { authorization: "Bearer ..." },
          { authorization: `Basic ${Buffer.from("user:pass").toString("base64")}` },
          { authorization: `Token ${account.auth.accessToken}` },
          { authorization: `Bearer ${account.auth.refreshToken}` },
          { authorization: `Bearer ${"x".repeat(8000)}` }
        ]
        for (const header of headers) {
          for (const path of ["/users/profile", "/auth/sessions", "/admin/users"]) {
            const response = yield* request("GET", path, { headers: header })
            expectProblem(response, 401, "unauthorized")
            expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/)
          }
        }
        expect(yield* profileStatus(account.auth.accessToken)).toBe(200)
      })
    )

    it.effect("refuses forged access tokens: alg none, HS256, tampered, foreign keys, expired", () =>
      Effect.gen(function* () {
        const account = yield* register()
        const genuine = account.auth.accessToken
        const claims = decodeJwt(genuine)
        const header = decodeProtectedHeader(genuine)
        const kid = header.kid!
        const server = yield* serverSigningKey
        expect(server.jwk.kid).toBe(kid)
        const elevated = { ...claims, role: "admin" }

        // Control: a token the test signs with the server's key and valid claims is accepted, so each
        // refusal below is about the one thing that differs.
        const control = yield* signEd25519({ ...claims, jti: "control", exp: now() + 600 }, server.key, kid)
        expect(yield* profileStatus(control)).toBe(200)

        const [encodedHeader, encodedPayload, signature] = genuine.split(".") as [string, string, string]
        const flipped = Buffer.from(signature, "base64url")
        flipped[0] = flipped[0]! ^ 0x01
        const foreign = yield* Effect.promise(() => generateKeyPair("EdDSA", { crv: "Ed25519" }))

        const forged: Record<string, string> = {
          "alg none": unsigned({ alg: "none", typ: "JWT" }, elevated),
          "alg none with the server's kid": unsigned({ alg: "none", typ: "JWT", kid }, claims),
          "alg none keeping the genuine signature": `${segment({ alg: "none", kid })}.${encodedPayload}.${signature}`,
          "HS256 with a guessed secret": hs256({ typ: "JWT", kid }, claims, "secret"),
          "HS256 with the public key's x as text": hs256({ typ: "JWT", kid }, claims, server.jwk.x),
          "HS256 with the public key's x as bytes": hs256(
            { typ: "JWT", kid },
            claims,
            Buffer.from(server.jwk.x, "base64url")
          ),
          "a flipped signature byte": `${encodedHeader}.${encodedPayload}.${flipped.toString("base64url")}`,
          "a truncated signature": `${encodedHeader}.${encodedPayload}.${signature.slice(0, -4)}`,
          "no signature": `${encodedHeader}.${encodedPayload}.`,
          "a tampered payload": `${encodedHeader}.${segment(elevated)}.${signature}`,
          "a foreign key and kid": yield* signEd25519(claims, foreign.privateKey, "attacker-key"),
          "a foreign key with the server's kid": yield* signEd25519(claims, foreign.privateKey, kid),
          "the server's key with an unknown kid": yield* signEd25519(claims, server.key, "unknown-kid"),
          expired: yield* signEd25519({ ...claims, iat: now() - 3600, exp: now() - 60 }, server.key, kid),
          "another issuer": yield* signEd25519({ ...claims, iss: "someone-else" }, server.key, kid),
          "another audience": yield* signEd25519({ ...claims, aud: "someone-else" }, server.key, kid),
          "an unknown session": yield* signEd25519(
            { ...claims, sid: "00000000-0000-4000-8000-000000000000" },
            server.key,
            kid
          ),
          "another user's subject": yield* signEd25519(
            { ...claims, sub: "00000000-0000-4000-8000-000000000000" },
            server.key,
            kid
          )
        }
        for (const [name, token] of Object.entries(forged)) {
          for (const path of ["/users/profile", "/admin/users"]) {
            const response = yield* request("GET", path, { token })
            expect(response.status, `${name} on ${path}`).toBe(401)
            expectProblem(response, 401, "unauthorized")
          }
        }
        expect(yield* profileStatus(genuine)).toBe(200)
      })
    )

    it.effect("revokes the whole family when a used refresh token is presented again", () =>
      Effect.gen(function* () {
        const account = yield* register()
        const elsewhere = yield* login(account.email, PASSWORD)
        const client = yield* apiClient()
        const first = yield* client.auth.refresh({ payload: { refreshToken: account.auth.refreshToken } })
        const second = yield* client.auth.refresh({ payload: { refreshToken: first.refreshToken } })
        expect(yield* profileStatus(second.accessToken)).toBe(200)

        expectProblem(yield* refreshRaw(account.auth.refreshToken), 401, "unauthorized")
        expect(yield* refreshStatus(second.refreshToken)).toBe(401)
        for (const token of [account.auth.accessToken, first.accessToken, second.accessToken]) {
          expect(yield* profileStatus(token)).toBe(401)
        }
        // Another login is another family, untouched.
        expect(yield* profileStatus(elsewhere.accessToken)).toBe(200)
        expect(yield* refreshStatus(elsewhere.refreshToken)).toBe(200)
      })
    )

    it.effect("lets at most one of several concurrent refreshes of one token succeed (no grace)", () =>
      Effect.gen(function* () {
        for (let round = 0; round < 3; round++) {
          const account = yield* register()
          const responses = yield* Effect.all(
            Array.from({ length: 4 }, () => refreshRaw(account.auth.refreshToken)),
            { concurrency: "unbounded" }
          )
          const statuses = responses.map((response) => response.status)
          expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(1)
          expect(statuses.every((status) => status === 200 || status === 401)).toBe(true)
          const minted = new Set(
            responses.filter((r) => r.status === 200).map((r) => (r.json as { refreshToken: string }).refreshToken)
          )
          expect(minted.size).toBeLessThanOrEqual(1)
        }
      })
    )

    it.effect("never sent a password hash, a stack trace or SQL in any response", () =>
      Effect.sync(() => expectNothingLeaked(responseBodies))
    )
  })

  layer(identityServer(backend, { refreshReuseGraceSeconds: 5 }), {
    timeout: "120 seconds",
    excludeTestServices: true
  })((it) => {
    it.effect("within REFRESH_REUSE_GRACE_SECONDS a token presented again gets the same successor", () =>
      Effect.gen(function* () {
        const account = yield* register()
        const client = yield* apiClient()
        const first = yield* client.auth.refresh({ payload: { refreshToken: account.auth.refreshToken } })
        const again = yield* client.auth.refresh({ payload: { refreshToken: account.auth.refreshToken } })
        expect(again.refreshToken).toBe(first.refreshToken)
        expect(again.user).toEqual(first.user)
        expect(yield* profileStatus(again.accessToken)).toBe(200)
        expect(yield* profileStatus(first.accessToken)).toBe(200)
        const next = yield* client.auth.refresh({ payload: { refreshToken: first.refreshToken } })
        expect(next.refreshToken).not.toBe(first.refreshToken)
        expect(yield* profileStatus(next.accessToken)).toBe(200)
      })
    )

    it.effect("racing tabs within the grace all get the one successor", () =>
      Effect.gen(function* () {
        const account = yield* register()
        const responses = yield* Effect.all(
          Array.from({ length: 3 }, () => refreshRaw(account.auth.refreshToken)),
          { concurrency: "unbounded" }
        )
        expect(responses.map((response) => response.status)).toEqual([200, 200, 200])
        const successors = new Set(responses.map((r) => (r.json as { refreshToken: string }).refreshToken))
        expect(successors.size).toBe(1)
        expect(yield* refreshStatus([...successors][0]!)).toBe(200)
      })
    )

    it.effect("past the grace, presenting the used token again revokes the family", () =>
      Effect.gen(function* () {
        const account = yield* register()
        const first = yield* (yield* apiClient()).auth.refresh({ payload: { refreshToken: account.auth.refreshToken } })
        yield* Effect.sleep("5500 millis")
        expectProblem(yield* refreshRaw(account.auth.refreshToken), 401)
        expect(yield* refreshStatus(first.refreshToken)).toBe(401)
        expect(yield* profileStatus(first.accessToken)).toBe(401)
      })
    )

    it.effect("never sent a password hash, a stack trace or SQL in any response", () =>
      Effect.sync(() => expectNothingLeaked(responseBodies))
    )
  })
})
