import { Effect, Layer } from "effect"
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto"
import { Cipher, DecryptionFailed } from "../cipher.js"
import type { EncryptionKey } from "./keys.js"

const IV_BYTES = 12
const TAG_BYTES = 16

/** Layout: kid length (1 byte) | kid | iv (12) | ciphertext | tag (16). */
export const makeCipherAesGcm = (keys: readonly [EncryptionKey, ...Array<EncryptionKey>]) => {
  const [current] = keys
  const byId = new Map(keys.map((key) => [key.kid, key.key]))
  const currentKid = Buffer.from(current.kid, "utf8")

  const seal = (plaintext: Uint8Array, associatedData?: Uint8Array): Uint8Array => {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv("aes-256-gcm", current.key, iv)
    if (associatedData !== undefined) cipher.setAAD(associatedData)
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
    return Buffer.concat([Buffer.from([currentKid.length]), currentKid, iv, body, cipher.getAuthTag()])
  }

  const open = (sealed: Uint8Array, associatedData?: Uint8Array): Effect.Effect<Uint8Array, DecryptionFailed> =>
    Effect.try({
      try: () => {
        const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength)
        const kidLength = bytes[0] ?? 0
        const kid = bytes.subarray(1, 1 + kidLength).toString("utf8")
        const key = byId.get(kid)
        if (key === undefined) throw new Error(`unknown key id ${kid}`)
        const ivStart = 1 + kidLength
        const bodyStart = ivStart + IV_BYTES
        const tagStart = bytes.length - TAG_BYTES
        if (tagStart < bodyStart) throw new Error("ciphertext too short")
        const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(ivStart, bodyStart))
        if (associatedData !== undefined) decipher.setAAD(associatedData)
        decipher.setAuthTag(bytes.subarray(tagStart))
        return Buffer.concat([decipher.update(bytes.subarray(bodyStart, tagStart)), decipher.final()])
      },
      catch: (error) => new DecryptionFailed({ reason: error instanceof Error ? error.message : "invalid ciphertext" })
    })

  return Layer.succeed(
    Cipher,
    Cipher.of({
      encrypt: (plaintext) =>
        Effect.sync(() => Buffer.from(seal(Buffer.from(plaintext, "utf8"))).toString("base64url")),
      decrypt: (ciphertext) =>
        Effect.map(open(Buffer.from(ciphertext, "base64url")), (bytes) => Buffer.from(bytes).toString("utf8")),
      encryptBytes: (plaintext, associatedData) => Effect.sync(() => seal(plaintext, associatedData)),
      decryptBytes: open
    })
  )
}
