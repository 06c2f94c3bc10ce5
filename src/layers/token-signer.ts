import { Context, Data, type Duration, type Effect } from "effect"

export interface AccessClaims {
  readonly sub: string
  readonly role: string
  readonly sid: string
}

export interface VerifiedClaims extends AccessClaims {
  readonly jti: string
  readonly iat: number
  readonly exp: number
}

export class TokenInvalid extends Data.TaggedError("TokenInvalid")<{ readonly reason: string }> {}

export interface PublicJwk {
  readonly kty: string
  readonly crv: string
  readonly x: string
  readonly kid: string
  readonly alg: "EdDSA"
  readonly use: "sig"
}

/** EdDSA (Ed25519) JWTs: the first key of the ring signs, every key of the ring verifies. */
export interface TokenSignerShape {
  readonly sign: (claims: AccessClaims, ttl: Duration.DurationInput) => Effect.Effect<string>
  readonly verify: (token: string) => Effect.Effect<VerifiedClaims, TokenInvalid>
  readonly jwks: { readonly keys: ReadonlyArray<PublicJwk> }
}

export class TokenSigner extends Context.Tag("app/TokenSigner")<TokenSigner, TokenSignerShape>() {}
