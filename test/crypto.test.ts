import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import { statSync } from "node:fs"
import { join } from "node:path"
import { createHmac } from "node:crypto"
import { Cipher } from "../src/layers/cipher.js"
import { makeCipherAesGcm } from "../src/layers/crypto/aes-gcm.js"
import { PasswordHasherArgon2 } from "../src/layers/crypto/argon2.js"
import { makeTokenSignerJose } from "../src/layers/crypto/jose-signer.js"
import { loadKeyMaterial } from "../src/layers/crypto/keys.js"
import { PasswordHasher } from "../src/layers/password-hasher.js"
import { TokenSigner } from "../src/layers/token-signer.js"
import { testSettings } from "./support/settings.js"

const base64url = (value: string | Buffer) => Buffer.from(value).toString("base64url")

describe("PasswordHasher (argon2id)", () => {
  it.live("hashes with OWASP parameters and verifies only the right password", () =>
    Effect.gen(function* () {
      const hasher = yield* PasswordHasher
      const hash = yield* hasher.hash(Redacted.make("correct horse battery staple"))
      expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
      expect(yield* hasher.verify(hash, Redacted.make("correct horse battery staple"))).toBe(true)
      expect(yield* hasher.verify(hash, Redacted.make("correct horse battery stapler"))).toBe(false)
      expect(yield* hasher.verify("not a hash", Redacted.make("anything"))).toBe(false)
      expect(hasher.needsRehash(hash)).toBe(false)
      expect(hasher.needsRehash("$argon2id$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaA")).toBe(true)
    }).pipe(Effect.provide(PasswordHasherArgon2))
  )
})

describe("Key material", () => {
  it.live("generates keys once under DATA_DIR with mode 0600 and reuses them on the next start", () =>
    Effect.gen(function* () {
      const settings = testSettings()
      const first = yield* loadKeyMaterial(settings)
      const second = yield* loadKeyMaterial(settings)
      expect(second.signing[0].kid).toBe(first.signing[0].kid)
      expect(second.encryption[0].key.equals(first.encryption[0].key)).toBe(true)
      for (const file of ["jwt-signing-keys.json", "encryption-keys.txt"]) {
        expect(statSync(join(settings.dataDir, "keys", file)).mode & 0o777).toBe(0o600)
      }
    })
  )

  it.live("refuses malformed keys from configuration, naming the variable", () =>
    Effect.gen(function* () {
      const badJwt = yield* Effect.flip(
        loadKeyMaterial(testSettings({ jwtPrivateKeys: Option.some(Redacted.make("[{}]")) }))
      )
      expect(badJwt.message).toContain("JWT_PRIVATE_KEYS")
      const shortKey = yield* Effect.flip(
        loadKeyMaterial(
          testSettings({ encryptionKeys: Option.some(Redacted.make(`k1:${Buffer.alloc(16).toString("base64")}`)) })
        )
      )
      expect(shortKey.message).toContain("ENCRYPTION_KEYS")
      expect(shortKey.message).toContain("32 bytes")
    })
  )
})

describe("Cipher (AES-256-GCM key ring)", () => {
  const key = (kid: string, byte: number) => ({ kid, key: Buffer.alloc(32, byte) })

  it.effect("round-trips, never repeats a ciphertext and detects tampering", () =>
    Effect.gen(function* () {
      const cipher = yield* Cipher
      const a = yield* cipher.encrypt("Ada Lovelace")
      const b = yield* cipher.encrypt("Ada Lovelace")
      expect(a).not.toBe(b)
      expect(a).not.toContain("Ada")
      expect(yield* cipher.decrypt(a)).toBe("Ada Lovelace")
      const bytes = Buffer.from(a, "base64url")
      bytes[bytes.length - 20]! ^= 1
      const tampered = yield* Effect.flip(cipher.decrypt(bytes.toString("base64url")))
      expect(tampered._tag).toBe("DecryptionFailed")
    }).pipe(Effect.provide(makeCipherAesGcm([key("k1", 1)])))
  )

  it.effect("binds bytes to their associated data", () =>
    Effect.gen(function* () {
      const cipher = yield* Cipher
      const sealed = yield* cipher.encryptBytes(new Uint8Array([1, 2, 3]), Buffer.from("segment-0"))
      expect([...(yield* cipher.decryptBytes(sealed, Buffer.from("segment-0")))]).toEqual([1, 2, 3])
      const moved = yield* Effect.flip(cipher.decryptBytes(sealed, Buffer.from("segment-1")))
      expect(moved._tag).toBe("DecryptionFailed")
    }).pipe(Effect.provide(makeCipherAesGcm([key("k1", 1)])))
  )

  it.effect("keeps decrypting with a rotated-out key while new data uses the new one", () =>
    Effect.gen(function* () {
      const old = yield* Effect.flatMap(Cipher, (c) => c.encrypt("before rotation")).pipe(
        Effect.provide(makeCipherAesGcm([key("k1", 1)]))
      )
      const rotated = makeCipherAesGcm([key("k2", 2), key("k1", 1)])
      const [decrypted, fresh] = yield* Effect.flatMap(Cipher, (c) =>
        Effect.all([c.decrypt(old), c.encrypt("after rotation")])
      ).pipe(Effect.provide(rotated))
      expect(decrypted).toBe("before rotation")
      const withoutNewKey = yield* Effect.flip(
        Effect.flatMap(Cipher, (c) => c.decrypt(fresh)).pipe(Effect.provide(makeCipherAesGcm([key("k1", 1)])))
      )
      expect(withoutNewKey.reason).toContain("unknown key id")
    })
  )
})

describe("TokenSigner (EdDSA JWT)", () => {
  const signerFor = (settings = testSettings()) =>
    Layer.unwrapEffect(
      Effect.map(loadKeyMaterial(settings), (keys) =>
        makeTokenSignerJose({ keys: keys.signing, issuer: "plinth", audience: "plinth" })
      )
    )
  const claims = {
    sub: "11111111-1111-4111-8111-111111111111",
    role: "user",
    sid: "22222222-2222-4222-8222-222222222222"
  }

  it.live("signs tokens that verify, with kid in the header and every required claim", () =>
    Effect.gen(function* () {
      const signer = yield* TokenSigner
      const token = yield* signer.sign(claims, "15 minutes")
      const [header] = token.split(".")
      const decodedHeader = JSON.parse(Buffer.from(header!, "base64url").toString())
      expect(decodedHeader).toMatchObject({ alg: "EdDSA", kid: signer.jwks.keys[0]!.kid })
      const verified = yield* signer.verify(token)
      expect(verified).toMatchObject(claims)
      expect(verified.exp - verified.iat).toBe(900)
      expect(verified.jti).toMatch(/^[0-9a-f-]{36}$/)
      expect(JSON.stringify(signer.jwks)).not.toContain('"d"')
    }).pipe(Effect.provide(signerFor()))
  )

  it.live("rejects alg none, HS256 forged with the public key, a flipped signature, a foreign kid and expiry", () =>
    Effect.gen(function* () {
      const signer = yield* TokenSigner
      const token = yield* signer.sign(claims, "15 minutes")
      const [header, payload, signature] = token.split(".") as [string, string, string]
      const kid = signer.jwks.keys[0]!.kid

      const none = `${base64url(JSON.stringify({ alg: "none", kid }))}.${payload}.`
      const hsHeader = base64url(JSON.stringify({ alg: "HS256", kid }))
      const hsSignature = createHmac("sha256", signer.jwks.keys[0]!.x)
        .update(`${hsHeader}.${payload}`)
        .digest("base64url")
      const hs256 = `${hsHeader}.${payload}.${hsSignature}`
      const flipped = Buffer.from(signature, "base64url")
      flipped[0]! ^= 1
      const tamperedSignature = `${header}.${payload}.${flipped.toString("base64url")}`
      const foreignKid = `${base64url(JSON.stringify({ alg: "EdDSA", kid: "someone-else" }))}.${payload}.${signature}`
      const expired = yield* signer.sign(claims, "-1 minutes")

      for (const forged of [none, hs256, tamperedSignature, foreignKid, expired, "garbage"]) {
        const error = yield* Effect.flip(signer.verify(forged))
        expect(error._tag).toBe("TokenInvalid")
      }
    }).pipe(Effect.provide(signerFor()))
  )

  it.live("verifies tokens of a rotated-out key still in the ring, and signs with the new one", () =>
    Effect.gen(function* () {
      const oldSettings = testSettings()
      const oldKeys = yield* loadKeyMaterial(oldSettings)
      const newKeys = yield* loadKeyMaterial(testSettings())
      const oldToken = yield* Effect.flatMap(TokenSigner, (s) => s.sign(claims, "15 minutes")).pipe(
        Effect.provide(makeTokenSignerJose({ keys: oldKeys.signing, issuer: "plinth", audience: "plinth" }))
      )
      const ring = makeTokenSignerJose({
        keys: [newKeys.signing[0], oldKeys.signing[0]],
        issuer: "plinth",
        audience: "plinth"
      })
      const signer = yield* Effect.provide(TokenSigner, ring)
      expect((yield* signer.verify(oldToken)).sub).toBe(claims.sub)
      const newToken = yield* signer.sign(claims, "15 minutes")
      expect(JSON.parse(Buffer.from(newToken.split(".")[0]!, "base64url").toString()).kid).toBe(newKeys.signing[0].kid)
      expect(signer.jwks.keys.map((k) => k.kid)).toEqual([newKeys.signing[0].kid, oldKeys.signing[0].kid])
    })
  )
})
