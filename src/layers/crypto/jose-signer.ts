import { Duration, Effect, Layer } from "effect"
import { randomUUID } from "node:crypto"
import { importJWK, jwtVerify, SignJWT, type CryptoKey, type JWTHeaderParameters } from "jose"
import { LRUCache } from "lru-cache"
import { TokenInvalid, TokenSigner, type PublicJwk, type VerifiedClaims } from "../token-signer.js"
import type { SigningJwk } from "./keys.js"

export interface TokenSignerOptions {
  readonly keys: readonly [SigningJwk, ...Array<SigningJwk>]
  readonly issuer: string
  readonly audience: string
}

const isClaims = (payload: Record<string, unknown>): payload is Record<string, unknown> & VerifiedClaims =>
  typeof payload["sub"] === "string" &&
  typeof payload["role"] === "string" &&
  typeof payload["sid"] === "string" &&
  typeof payload["jti"] === "string" &&
  typeof payload["iat"] === "number" &&
  typeof payload["exp"] === "number"

/** Access tokens a busy server sees again within their 15 minutes; far more than its clients hold at once. */
const VERIFIED_TOKENS_KEPT = 20_000

export const makeTokenSignerJose = (options: TokenSignerOptions) =>
  Layer.effect(
    TokenSigner,
    Effect.gen(function* () {
      const imported = yield* Effect.forEach(options.keys, (jwk) =>
        Effect.promise(async () => ({
          kid: jwk.kid,
          privateKey: (await importJWK({ ...jwk, alg: "EdDSA" }, "EdDSA")) as CryptoKey,
          publicKey: (await importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }, "EdDSA")) as CryptoKey
        }))
      )
      const signingKey = imported[0]!
      const verificationKeys = new Map(imported.map((key) => [key.kid, key.publicKey]))
      const keys: ReadonlyArray<PublicJwk> = options.keys.map(({ kty, crv, x, kid }) => ({
        kty,
        crv,
        x,
        kid,
        alg: "EdDSA",
        use: "sig"
      }))

      const resolveKey = (header: JWTHeaderParameters) => {
        const key = header.kid === undefined ? undefined : verificationKeys.get(header.kid)
        if (key === undefined) throw new Error("unknown key id")
        return key
      }

      const verified = new LRUCache<string, VerifiedClaims>({ max: VERIFIED_TOKENS_KEPT })
      const verifyAfresh = (token: string) =>
        Effect.tryPromise({
          // Pinning the algorithm refuses `alg: none` and HMAC tokens forged with a public key as secret.
          try: () =>
            jwtVerify(token, resolveKey, {
              algorithms: ["EdDSA"],
              issuer: options.issuer,
              audience: options.audience,
              requiredClaims: ["sub", "jti", "iat", "exp"]
            }),
          catch: (error) => new TokenInvalid({ reason: error instanceof Error ? error.message : "invalid token" })
        }).pipe(
          Effect.flatMap(({ payload }) => {
            if (!isClaims(payload)) return Effect.fail(new TokenInvalid({ reason: "missing claims" }))
            const claims: VerifiedClaims = {
              sub: payload.sub,
              role: payload.role,
              sid: payload.sid,
              jti: payload.jti,
              iat: payload.iat,
              exp: payload.exp
            }
            verified.set(token, claims)
            return Effect.succeed(claims)
          }),
          Effect.withSpan("TokenSigner.verify")
        )

      return TokenSigner.of({
        sign: (claims, ttl) =>
          Effect.promise(() =>
            new SignJWT({ role: claims.role, sid: claims.sid })
              .setProtectedHeader({ alg: "EdDSA", kid: signingKey.kid, typ: "JWT" })
              .setSubject(claims.sub)
              .setIssuer(options.issuer)
              .setAudience(options.audience)
              .setJti(randomUUID())
              .setIssuedAt()
              .setExpirationTime(Math.floor(Date.now() / 1000) + Math.round(Duration.toSeconds(ttl)))
              .sign(signingKey.privateKey)
          ).pipe(Effect.withSpan("TokenSigner.sign")),
        verify: (token) => {
          // A token's signature and claims never change, so one verification holds until it expires; only the
          // expiry is checked again. A token differing in any byte is a different key and is verified afresh.
          const known = verified.get(token)
          return known !== undefined && known.exp * 1000 > Date.now() ? Effect.succeed(known) : verifyAfresh(token)
        },
        jwks: { keys }
      })
    })
  )
