import { Context, Data, type Effect } from "effect"

export class DecryptionFailed extends Data.TaggedError("DecryptionFailed")<{ readonly reason: string }> {}

/** AES-256-GCM with a key ring: each ciphertext names its key, so old keys keep decrypting after rotation. */
export interface CipherShape {
  readonly encrypt: (plaintext: string) => Effect.Effect<string>
  readonly decrypt: (ciphertext: string) => Effect.Effect<string, DecryptionFailed>
  readonly encryptBytes: (plaintext: Uint8Array, associatedData?: Uint8Array) => Effect.Effect<Uint8Array>
  readonly decryptBytes: (
    ciphertext: Uint8Array,
    associatedData?: Uint8Array
  ) => Effect.Effect<Uint8Array, DecryptionFailed>
}

export class Cipher extends Context.Tag("app/Cipher")<Cipher, CipherShape>() {}
