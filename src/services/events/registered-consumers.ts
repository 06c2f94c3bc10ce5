import { Context } from "effect"

/** The names of every consumer the enabled modules declared: where dead letters can be found. */
export class RegisteredConsumers extends Context.Tag("app/RegisteredConsumers")<
  RegisteredConsumers,
  ReadonlyArray<string>
>() {}
