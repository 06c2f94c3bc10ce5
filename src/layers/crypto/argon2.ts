import { hash, verify } from "@node-rs/argon2"
import { verify as verifyBcrypt } from "@node-rs/bcrypt"
import { Effect, Layer, Redacted } from "effect"
import { PasswordHasher } from "../password-hasher.js"

/** OWASP's argon2id baseline: 19 MiB, two passes, one lane. @node-rs/argon2 runs on libuv's thread pool. */
const ARGON2ID = 2
const parameters = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const
/** Hashes imported from systems that used bcrypt verify too; `needsRehash` then upgrades them at login. */
const isBcrypt = (stored: string) => /^\$2[aby]\$/.test(stored)

const currentPrefix = `$argon2id$v=19$m=${parameters.memoryCost},t=${parameters.timeCost},p=${parameters.parallelism}$`

export const PasswordHasherArgon2 = Layer.succeed(
  PasswordHasher,
  PasswordHasher.of({
    hash: (password) =>
      Effect.promise(() => hash(Redacted.value(password), parameters)).pipe(Effect.withSpan("PasswordHasher.hash")),
    verify: (stored, password) =>
      Effect.tryPromise(() =>
        isBcrypt(stored) ? verifyBcrypt(Redacted.value(password), stored) : verify(stored, Redacted.value(password))
      ).pipe(
        Effect.orElseSucceed(() => false),
        Effect.withSpan("PasswordHasher.verify")
      ),
    needsRehash: (stored) => !stored.startsWith(currentPrefix)
  })
)
