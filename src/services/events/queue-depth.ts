import { Effect, Layer, Metric, Schedule } from "effect"
import { Queue } from "../../layers/queue.js"
import { queueDepth } from "./metrics.js"
import { RegisteredConsumers } from "./registered-consumers.js"

/** Samples every consumer's queue depth into `plinth_queue_depth` every few seconds, in the worker. */
export const QueueDepthSampler = Layer.scopedDiscard(
  Effect.gen(function* () {
    const queue = yield* Queue
    const consumers = yield* RegisteredConsumers
    const sample = Effect.forEach(
      consumers,
      (consumer) =>
        Effect.flatMap(queue.depth(consumer), (depth) =>
          Metric.set(queueDepth.pipe(Metric.tagged("consumer", consumer)), depth)
        ),
      { discard: true }
    ).pipe(
      Effect.catchAllCause((cause) => Effect.logDebug("Queue depth: not sampled", cause)),
      Effect.withSpan("QueueDepthSampler.sample")
    )
    yield* Effect.forkScoped(Effect.repeat(sample, Schedule.spaced("5 seconds")))
  })
)
