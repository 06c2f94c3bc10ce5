import { Effect, Option, Redacted, Schema } from "effect"
import { randomBytes } from "node:crypto"
import { mkdir, readFile, rename, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { generateKeyPair, exportJWK } from "jose"
import { ConfigInvalid, type AppSettings } from "../config.js"

const SigningJwk = Schema.Struct({
  kty: Schema.Literal("OKP"),
  crv: Schema.Literal("Ed25519"),
  x: Schema.String,
  d: Schema.String,
  kid: Schema.String.pipe(Schema.minLength(1))
})
export type SigningJwk = typeof SigningJwk.Type
const SigningJwks = Schema.parseJson(Schema.NonEmptyArray(SigningJwk))

const EncryptionKeyEntry = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/=_-]+$/, { message: () => "Expected kid:base64key" })
)

export interface EncryptionKey {
  readonly kid: string
  readonly key: Buffer
}

export interface KeyMaterial {
  readonly signing: readonly [SigningJwk, ...Array<SigningJwk>]
  readonly encryption: readonly [EncryptionKey, ...Array<EncryptionKey>]
}

const invalid = (variable: string, message: string) => new ConfigInvalid({ problems: [`${variable}: ${message}`] })

const parseEncryptionKeys = (raw: string) =>
  Effect.gen(function* () {
    const keys: Array<EncryptionKey> = []
    for (const entry of raw.split(",").map((part) => part.trim())) {
      yield* Schema.decodeUnknown(EncryptionKeyEntry)(entry).pipe(
        Effect.mapError(() => invalid("ENCRYPTION_KEYS", "expected a comma-separated list of kid:base64key"))
      )
      const [kid = "", encoded = ""] = entry.split(":")
      const key = Buffer.from(encoded, "base64")
      if (key.length !== 32) return yield* invalid("ENCRYPTION_KEYS", `key "${kid}" must be 32 bytes (AES-256)`)
      keys.push({ kid, key })
    }
    const [first, ...rest] = keys
    if (first === undefined) return yield* invalid("ENCRYPTION_KEYS", "no key given")
    return [first, ...rest] as const
  })

const keyId = () => `${new Date().toISOString().slice(0, 10)}-${randomBytes(4).toString("hex")}`

const generateSigningKey = Effect.promise(async (): Promise<SigningJwk> => {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true })
  const jwk = await exportJWK(privateKey)
  return { kty: "OKP", crv: "Ed25519", x: jwk.x ?? "", d: jwk.d ?? "", kid: keyId() }
})

/** Written once with mode 0600 via a temporary file, so a crash never leaves a half-written key file. */
const readOrCreate = (path: string, create: Effect.Effect<string>) =>
  Effect.tryPromise(() => readFile(path, "utf8")).pipe(
    Effect.catchAll(() =>
      Effect.flatMap(create, (content) =>
        Effect.promise(async () => {
          const temporary = `${path}.${process.pid}.tmp`
          await writeFile(temporary, content, { mode: 0o600 })
          await rename(temporary, path)
          return content
        })
      )
    )
  )

/** Keys from configuration; on the embedded default, keys generated on first start and kept under DATA_DIR. */
export const loadKeyMaterial = (settings: AppSettings): Effect.Effect<KeyMaterial, ConfigInvalid> =>
  Effect.gen(function* () {
    const directory = join(settings.dataDir, "keys")
    const needsDirectory = Option.isNone(settings.jwtPrivateKeys) || Option.isNone(settings.encryptionKeys)
    if (needsDirectory) yield* Effect.promise(() => mkdir(directory, { recursive: true, mode: 0o700 }))

    const signingText = yield* Option.match(settings.jwtPrivateKeys, {
      onSome: (value) => Effect.succeed(Redacted.value(value)),
      onNone: () =>
        readOrCreate(
          join(directory, "jwt-signing-keys.json"),
          Effect.map(generateSigningKey, (key) => JSON.stringify([key]))
        )
    })
    const signing = yield* Schema.decodeUnknown(SigningJwks)(signingText).pipe(
      Effect.mapError(() =>
        invalid("JWT_PRIVATE_KEYS", "expected a JSON array of Ed25519 private JWKs, each with a kid")
      )
    )

    const encryptionText = yield* Option.match(settings.encryptionKeys, {
      onSome: (value) => Effect.succeed(Redacted.value(value)),
      onNone: () =>
        readOrCreate(
          join(directory, "encryption-keys.txt"),
          Effect.sync(() => `${keyId()}:${randomBytes(32).toString("base64")}`)
        )
    })
    const encryption = yield* parseEncryptionKeys(encryptionText.trim())
    return { signing, encryption }
  })
