import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { NotFound } from "../../services/errors.js"
import { DeadLetters } from "../../services/events/dead-letters.js"
import { RegisteredConsumers } from "../../services/events/registered-consumers.js"
import { CurrentUser } from "../../services/identity/current-user.js"
import { canAdministerUsers, requireRole } from "../../services/identity/policy.js"
import { baseApi } from "../api.js"
import { DeadLetterList, DeadLettersGroup } from "../groups/dead-letters.js"

export const DeadLettersHandlers = HttpApiBuilder.group(baseApi.add(DeadLettersGroup), "deadLetters", (handlers) =>
  Effect.gen(function* () {
    const deadLetters = yield* DeadLetters
    const consumers = yield* RegisteredConsumers
    const adminOnly = Effect.flatMap(CurrentUser, (actor) =>
      requireRole(actor, canAdministerUsers, "see or replay dead letters")
    )
    return handlers
      .handle("list", ({ urlParams }) =>
        Effect.gen(function* () {
          yield* adminOnly
          const names = urlParams.consumer === undefined ? consumers : [urlParams.consumer]
          const lists = yield* Effect.forEach(names, (name) =>
            consumers.includes(name) ? deadLetters.list(name) : Effect.succeed([])
          )
          return new DeadLetterList({ items: lists.flat() })
        })
      )
      .handle("replay", ({ path }) =>
        Effect.gen(function* () {
          yield* adminOnly
          for (const consumer of consumers) {
            const replayed = yield* deadLetters.replay(consumer, path.id).pipe(
              Effect.as(true),
              Effect.catchTag("NotFound", () => Effect.succeed(false))
            )
            if (replayed) return
          }
          return yield* new NotFound({ detail: `No dead letter ${path.id}` })
        })
      )
  })
)
