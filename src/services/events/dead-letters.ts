import { Context, DateTime, Effect, Layer } from "effect"
import { Queue, type QueueUnavailable } from "../../layers/queue.js"
import { NotFound, ServiceUnavailable } from "../errors.js"
import { DeadLetterView } from "./schema.js"

export interface DeadLettersShape {
  /** The consumer's dead letters, oldest first; browsing leaves them in place. */
  readonly list: (consumer: string) => Effect.Effect<ReadonlyArray<DeadLetterView>, ServiceUnavailable>
  /** Sends one dead letter back to its consumer, alone, with a fresh attempt count. */
  readonly replay: (consumer: string, id: string) => Effect.Effect<void, NotFound | ServiceUnavailable>
}

const orUnavailable = <A>(effect: Effect.Effect<A, QueueUnavailable>) =>
  effect.pipe(
    Effect.tapError((error) => Effect.logWarning("Dead letters: the queue is unavailable", error.reason)),
    Effect.mapError(
      () =>
        new ServiceUnavailable({
          detail: "The message queue is unavailable; retry later",
          retryAfter: 5,
          unavailable: ["queue"]
        })
    )
  )

export class DeadLetters extends Context.Tag("app/DeadLetters")<DeadLetters, DeadLettersShape>() {
  static readonly layer = Layer.effect(
    DeadLetters,
    Effect.gen(function* () {
      const queue = yield* Queue

      const list = Effect.fn("DeadLetters.list")(function* (consumer: string) {
        const letters = yield* orUnavailable(queue.deadLetters(consumer))
        return letters.map(
          (letter) =>
            new DeadLetterView({
              id: letter.id,
              consumer: letter.consumer,
              routingKey: letter.routingKey,
              body: letter.body,
              attempts: letter.attempts,
              lastError: letter.lastError,
              deadAt: DateTime.unsafeFromDate(letter.deadAt)
            })
        )
      })

      const replay = Effect.fn("DeadLetters.replay")(function* (consumer: string, id: string) {
        const replayed = yield* orUnavailable(queue.replay(consumer, id))
        if (!replayed) return yield* new NotFound({ detail: `No dead letter ${id} for consumer ${consumer}` })
      })

      return DeadLetters.of({ list, replay })
    })
  )
}
