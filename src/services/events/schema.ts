import { Schema } from "effect"

/** A delivery that failed its last attempt, as the admin endpoints list it; `body` is the event's JSON. */
export class DeadLetterView extends Schema.Class<DeadLetterView>("DeadLetterView")({
  id: Schema.String,
  consumer: Schema.String,
  routingKey: Schema.String,
  body: Schema.String,
  attempts: Schema.Number,
  lastError: Schema.String,
  deadAt: Schema.DateTimeUtc
}) {}
