import { Cause, Clock, Duration, Effect, FiberSet, Layer, Queue as Mailbox, Stream } from "effect"
import { type ConsumerSpec, type DeadLetter, type DeliveredMessage, type OutgoingMessage, Queue } from "../queue.js"
import { continueTrace, withTraceparent } from "../telemetry.js"

/** Handlers in flight per consumer, as the broker's prefetch limits them. */
const prefetch = 16

interface Envelope {
  readonly message: Omit<DeliveredMessage, "attempt">
  readonly attempt: number
}

interface Subscription {
  readonly patterns: ReadonlyArray<ReadonlyArray<string>>
  readonly inbox: Mailbox.Queue<DeliveredMessage>
}

interface ConsumerQueue {
  readonly bindings: Map<string, ReadonlyArray<string>>
  readonly pending: Mailbox.Queue<Envelope>
  readonly dead: Array<DeadLetter>
}

/** AMQP topic matching: `*` is exactly one word, `#` zero or more. */
const topicMatches = (pattern: ReadonlyArray<string>, key: ReadonlyArray<string>, p = 0, k = 0): boolean => {
  if (p === pattern.length) return k === key.length
  const word = pattern[p]
  if (word === "#") {
    return topicMatches(pattern, key, p + 1, k) || (k < key.length && topicMatches(pattern, key, p, k + 1))
  }
  return k < key.length && (word === "*" || word === key[k]) && topicMatches(pattern, key, p + 1, k + 1)
}

export const QueueMemory: Layer.Layer<Queue> = Layer.scoped(
  Queue,
  Effect.gen(function* () {
    const queues = new Map<string, ConsumerQueue>()
    const subscriptions = new Set<Subscription>()
    const retryTimers = yield* FiberSet.make()

    const declare = (name: string, routingKeys: ReadonlyArray<string>) =>
      Effect.map(Mailbox.unbounded<Envelope>(), (pending) => {
        const queue: ConsumerQueue = queues.get(name) ?? { bindings: new Map(), pending, dead: [] }
        for (const key of routingKeys) queue.bindings.set(key, key.split("."))
        queues.set(name, queue)
        return queue
      })

    const publish = Effect.fn("Queue.publish")(function* (message: OutgoingMessage) {
      const words = message.routingKey.split(".")
      const envelope: Envelope = {
        message: {
          id: message.id,
          routingKey: message.routingKey,
          body: message.body,
          headers: yield* withTraceparent(message.headers)
        },
        attempt: 1
      }
      const targets = Array.from(queues.values()).filter((queue) =>
        Array.from(queue.bindings.values()).some((pattern) => topicMatches(pattern, words))
      )
      yield* Effect.forEach(targets, (queue) => Mailbox.offer(queue.pending, envelope), { discard: true })
      for (const subscription of subscriptions) {
        if (subscription.patterns.some((pattern) => topicMatches(pattern, words))) {
          yield* Mailbox.offer(subscription.inbox, { ...envelope.message, attempt: 1 })
        }
      }
    })

    const subscribe = (routingKeys: ReadonlyArray<string>, backlog: number) =>
      Effect.map(
        Effect.acquireRelease(
          Effect.map(Mailbox.sliding<DeliveredMessage>(backlog), (inbox) => {
            const subscription = { patterns: routingKeys.map((key) => key.split(".")), inbox }
            subscriptions.add(subscription)
            return subscription
          }),
          (subscription) =>
            Effect.zipRight(
              Effect.sync(() => subscriptions.delete(subscription)),
              Mailbox.shutdown(subscription.inbox)
            )
        ),
        (subscription) => Stream.fromQueue(subscription.inbox)
      )

    const consume = Effect.fn("Queue.consume")(function* <R>(spec: ConsumerSpec<R>) {
      const queue = yield* declare(spec.name, spec.routingKeys)
      const maxAttempts = Math.max(1, spec.maxAttempts ?? 5)
      const baseDelay = Duration.decode(spec.retryBaseDelay ?? "1 second")

      const deadLetter = (envelope: Envelope, cause: Cause.Cause<unknown>) =>
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          queue.dead.push({
            ...envelope.message,
            consumer: spec.name,
            attempts: envelope.attempt,
            lastError: Cause.pretty(cause),
            deadAt: new Date(now)
          })
          yield* Effect.logWarning("Queue: message dead-lettered").pipe(
            Effect.annotateLogs({ consumer: spec.name, messageId: envelope.message.id, attempts: envelope.attempt })
          )
        })

      const retryLater = (envelope: Envelope) =>
        FiberSet.run(
          retryTimers,
          Mailbox.offer(queue.pending, { message: envelope.message, attempt: envelope.attempt + 1 }).pipe(
            Effect.delay(Duration.times(baseDelay, 2 ** (envelope.attempt - 1)))
          )
        )

      const deliver = (envelope: Envelope) =>
        spec.handle({ ...envelope.message, attempt: envelope.attempt }).pipe(
          Effect.catchAllCause((cause) =>
            envelope.attempt >= maxAttempts ? deadLetter(envelope, cause) : Effect.asVoid(retryLater(envelope))
          ),
          Effect.withSpan("Queue.handle", {
            ...continueTrace(envelope.message.headers["traceparent"]),
            attributes: { consumer: spec.name, messageId: envelope.message.id, attempt: envelope.attempt }
          })
        )

      /**
       * One dispatcher takes from the queue and starts up to `prefetch` deliveries. On shutdown the dispatcher
       * stops first, so a delivery cut short goes back to a queue nobody is taking from, where the next
       * consumer of this name finds it, as an unacknowledged AMQP message is redelivered.
       */
      const deliveries = yield* FiberSet.make()
      const inFlight = yield* Effect.makeSemaphore(prefetch)
      const dispatch = Effect.gen(function* () {
        yield* inFlight.take(1)
        const envelope = yield* Mailbox.take(queue.pending).pipe(Effect.onInterrupt(() => inFlight.release(1)))
        yield* FiberSet.run(
          deliveries,
          deliver(envelope).pipe(
            Effect.onInterrupt(() => Mailbox.offer(queue.pending, envelope)),
            Effect.ensuring(inFlight.release(1))
          )
        )
      })
      yield* Effect.forkScoped(Effect.forever(dispatch))
    })

    const deadLetters = (consumer: string) =>
      Effect.sync((): ReadonlyArray<DeadLetter> => [...(queues.get(consumer)?.dead ?? [])]).pipe(
        Effect.withSpan("Queue.deadLetters")
      )

    const replay = Effect.fn("Queue.replay")(function* (consumer: string, messageId: string) {
      const queue = queues.get(consumer)
      const index = queue?.dead.findIndex((letter) => letter.id === messageId) ?? -1
      const letter = queue?.dead[index]
      if (queue === undefined || letter === undefined) return false
      queue.dead.splice(index, 1)
      const { id, routingKey, body, headers } = letter
      yield* Mailbox.offer(queue.pending, { message: { id, routingKey, body, headers }, attempt: 1 })
      return true
    })

    const depth = (consumer: string) => {
      const queue = queues.get(consumer)
      // A waiting taker counts as -1 in a queue's size.
      return queue === undefined ? Effect.succeed(0) : Effect.map(Mailbox.size(queue.pending), (n) => Math.max(0, n))
    }

    return Queue.of({ publish, consume, subscribe, deadLetters, replay, depth, ping: Effect.void })
  })
)
