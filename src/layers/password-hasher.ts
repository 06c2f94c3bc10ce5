import { Context, type Effect, type Redacted } from "effect"

export interface PasswordHasherShape {
  readonly hash: (password: Redacted.Redacted) => Effect.Effect<string>
  /** False for a wrong password and for a hash this hasher cannot read. */
  readonly verify: (hash: string, password: Redacted.Redacted) => Effect.Effect<boolean>
  /** True when the hash was made by another algorithm or weaker parameters and should be replaced at login. */
  readonly needsRehash: (hash: string) => boolean
}

export class PasswordHasher extends Context.Tag("app/PasswordHasher")<PasswordHasher, PasswordHasherShape>() {}
