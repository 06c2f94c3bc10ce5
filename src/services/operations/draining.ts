import { Context, Effect, Layer, Ref } from "effect"

export interface DrainingShape {
  /** Marks the process as leaving: readiness fails from now on, so load balancers stop sending it traffic. */
  readonly begin: Effect.Effect<void>
  readonly active: Effect.Effect<boolean>
}

/** Whether the process has started to shut down; set by the HTTP server on SIGTERM, read by readiness. */
export class Draining extends Context.Tag("app/Draining")<Draining, DrainingShape>() {
  static readonly layer = Layer.effect(
    Draining,
    Effect.map(Ref.make(false), (draining) =>
      Draining.of({ begin: Ref.set(draining, true), active: Ref.get(draining) })
    )
  )
}
