import { Duration, Effect, Layer } from "effect"
import { randomUUID } from "node:crypto"
import { importJWK, jwtVerify, SignJWT, type CryptoKey, type JWTHeaderParameters } from "jose"
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
        verify: (token) =>
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
            Effect.flatMap(({ payload }) =>
              isClaims(payload)
                ? Effect.succeed<VerifiedClaims>({
                    sub: payload.sub,
                    role: payload.role,
                    sid: payload.sid,
                    jti: payload.jti,
                    iat: payload.iat,
                    exp: payload.exp
                  })
                : Effect.fail(new TokenInvalid({ reason: "missing claims" }))
            ),
            Effect.withSpan("TokenSigner.verify")
          ),
        jwks: { keys }
      })
    })
  )
