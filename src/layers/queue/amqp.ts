import { type Channel, type ChannelModel, type ConfirmChannel, connect, type Message, type Options } from "amqplib"
import {
  Cause,
  Clock,
  Deferred,
  Duration,
  Effect,
  FiberSet,
  Layer,
  Predicate,
  Queue as Mailbox,
  Redacted,
  Ref,
  Schedule,
  Stream
} from "effect"
import {
  type ConsumerSpec,
  type DeadLetter,
  type DeliveredMessage,
  type OutgoingMessage,
  Queue,
  QueueUnavailable
} from "../queue.js"
import { continueTrace, withTraceparent } from "../telemetry.js"

const prefetch = 16
const operationTimeout = Duration.seconds(5)
const heartbeatSeconds = 10
/** Headers travel in one AMQP frame, so a long error text (a pretty cause with stack traces) is cut. */
const errorTextLimit = 4_000
const reconnectBackoff = Schedule.exponential("100 millis").pipe(
  Schedule.union(Schedule.spaced("10 seconds")),
  Schedule.jittered
)

const header = {
  attempt: "x-plinth-attempt",
  routingKey: "x-plinth-routing-key",
  consumer: "x-plinth-consumer",
  attempts: "x-plinth-attempts",
  error: "x-plinth-error",
  deadAt: "x-plinth-dead-at"
} as const

/** Ours, or added by the broker when it dead-letters an expired retry or redelivers from a quorum queue. */
const isReservedHeader = (key: string) =>
  key.startsWith("x-plinth-") ||
  key === "x-death" ||
  key.startsWith("x-first-death-") ||
  key.startsWith("x-last-death-") ||
  key === "x-delivery-count"

type Link =
  | { readonly _tag: "Connecting" }
  | { readonly _tag: "Down"; readonly reason: string }
  | {
      readonly _tag: "Up"
      readonly connection: ChannelModel
      readonly publisher: ConfirmChannel
      readonly closed: Deferred.Deferred<string>
    }

interface Subscriber {
  readonly attach: (connection: ChannelModel) => Effect.Effect<void, QueueUnavailable>
}

const ignore = () => undefined

const describe = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

const isNotFound = (cause: unknown) => Predicate.hasProperty(cause, "code") && cause.code === 404

const call = <A>(reason: string, operation: () => Promise<A>) =>
  Effect.tryPromise({
    try: operation,
    catch: (cause) => new QueueUnavailable({ reason: `${reason}: ${describe(cause)}`, cause })
  }).pipe(
    Effect.timeoutFail({
      duration: operationTimeout,
      onTimeout: () => new QueueUnavailable({ reason: `${reason}: no answer from the broker` })
    })
  )

const confirmedPublish = (
  channel: ConfirmChannel,
  exchange: string,
  routingKey: string,
  content: Buffer,
  options: Options.Publish
) =>
  Effect.async<void, QueueUnavailable>((resume) => {
    try {
      channel.publish(exchange, routingKey, content, options, (error) =>
        resume(
          error === null || error === undefined
            ? Effect.void
            : Effect.fail(new QueueUnavailable({ reason: `not confirmed: ${describe(error)}`, cause: error }))
        )
      )
    } catch (cause) {
      resume(Effect.fail(new QueueUnavailable({ reason: `cannot publish: ${describe(cause)}`, cause })))
    }
  }).pipe(
    Effect.timeoutFail({
      duration: operationTimeout,
      onTimeout: () => new QueueUnavailable({ reason: "the broker did not confirm the message in time" })
    })
  )

const publishOptions = (id: string, headers: Record<string, string | number>): Options.Publish => ({
  persistent: true,
  messageId: id,
  contentType: "application/json",
  headers
})

const headerText = (message: Message, key: string): string | undefined => {
  const value: unknown = message.properties.headers?.[key]
  return typeof value === "string" ? value : undefined
}

const headerCount = (message: Message, key: string) => {
  const value = Number(message.properties.headers?.[key])
  return Number.isInteger(value) && value >= 1 ? value : 1
}

const decode = (message: Message): DeliveredMessage => {
  const headers: Record<string, string> = {}
  for (const [key, value] of Object.entries(message.properties.headers ?? {})) {
    if (typeof value === "string" && !isReservedHeader(key)) headers[key] = value
  }
  const messageId: unknown = message.properties.messageId
  return {
    id: typeof messageId === "string" ? messageId : "",
    routingKey: headerText(message, header.routingKey) ?? message.fields.routingKey,
    body: message.content.toString("utf8"),
    headers,
    attempt: headerCount(message, header.attempt)
  }
}

const decodeDeadLetter = (message: Message, consumer: string): DeadLetter => {
  const { attempt: _, ...delivered } = decode(message)
  return {
    ...delivered,
    consumer: headerText(message, header.consumer) ?? consumer,
    attempts: headerCount(message, header.attempts),
    lastError: headerText(message, header.error) ?? "",
    deadAt: new Date(headerText(message, header.deadAt) ?? 0)
  }
}

/** Acks and nacks throw once the channel is gone; the broker then redelivers the message anyway. */
const settleQuietly = (settle: () => void) => Effect.ignore(Effect.try(settle))

const closeQuietly = (channel: Channel) => Effect.ignore(call("cannot close a channel", () => channel.close()))

const openChannel = (connection: ChannelModel) =>
  Effect.map(
    call("cannot open a channel", () => connection.createConfirmChannel()),
    (channel) => channel.on("error", ignore)
  )

export const makeQueueAmqp = (url: Redacted.Redacted, options?: { readonly exchange?: string }): Layer.Layer<Queue> =>
  Layer.scoped(
    Queue,
    Effect.gen(function* () {
      const exchange = options?.exchange ?? "plinth.events"
      const address = new URL(Redacted.value(url))
      if (!address.searchParams.has("heartbeat")) address.searchParams.set("heartbeat", String(heartbeatSeconds))

      const link = yield* Ref.make<Link>({ _tag: "Connecting" })
      const firstAttempt = yield* Deferred.make<void>()
      const outage = yield* Ref.make(false)
      const topology = yield* Effect.makeSemaphore(1)
      const browsing = yield* Effect.makeSemaphore(1)
      const subscribers = new Set<Subscriber>()

      const queueOf = (consumer: string) => `${exchange}.${consumer}`
      const deadQueueOf = (consumer: string) => `${queueOf(consumer)}.dead`

      const openConnection = (closed: Deferred.Deferred<string>) =>
        Effect.async<ChannelModel, QueueUnavailable>((resume) => {
          let abandoned = false
          // Without noDelay, Nagle's algorithm holds each small publish back until the last one is confirmed.
          connect(address.toString(), { timeout: Duration.toMillis(operationTimeout), noDelay: true }).then(
            (connection) => {
              connection.on("error", ignore)
              connection.on("close", (error?: unknown) =>
                Deferred.unsafeDone(closed, Effect.succeed(error === undefined ? "closed" : describe(error)))
              )
              if (abandoned) connection.close().catch(ignore)
              else resume(Effect.succeed(connection))
            },
            (cause: unknown) =>
              resume(Effect.fail(new QueueUnavailable({ reason: `cannot connect: ${describe(cause)}`, cause })))
          )
          return Effect.sync(() => {
            abandoned = true
          })
        })

      /** Any long-lived channel lost while the connection lives is rebuilt with the rest of the topology. */
      const reconnectOnLoss = (connection: ChannelModel) => () => {
        connection.close().catch(ignore)
      }

      const setUp = (connection: ChannelModel, closed: Deferred.Deferred<string>) =>
        topology.withPermits(1)(
          Effect.gen(function* () {
            const publisher = yield* openChannel(connection)
            publisher.on("close", reconnectOnLoss(connection))
            yield* call("cannot declare the exchange", () =>
              publisher.assertExchange(exchange, "topic", { durable: true })
            )
            for (const subscriber of subscribers) {
              yield* subscriber
                .attach(connection)
                .pipe(
                  Effect.catchAll((error) =>
                    Effect.flatMap(Deferred.isDone(closed), (lost) =>
                      lost ? Effect.fail(error) : Effect.logError("Queue: cannot subscribe a consumer", error.reason)
                    )
                  )
                )
            }
            yield* Ref.set(link, { _tag: "Up", connection, publisher, closed })
          })
        )

      /** Connects, declares everything and resumes every consumer, then waits for the connection to drop. */
      const session = Effect.gen(function* () {
        const closed = yield* Deferred.make<string>()
        const connection = yield* Effect.acquireRelease(openConnection(closed), (connection) =>
          Effect.ignore(call("cannot close the connection", () => connection.close()))
        )
        yield* setUp(connection, closed)
        yield* Deferred.succeed(firstAttempt, undefined)
        if (yield* Ref.getAndSet(outage, false)) yield* Effect.logInfo("Queue: connected to the broker again")
        return yield* Deferred.await(closed)
      }).pipe(Effect.scoped)

      yield* session.pipe(
        Effect.flatMap((reason) =>
          Effect.gen(function* () {
            yield* Ref.set(link, { _tag: "Down", reason })
            yield* Ref.set(outage, true)
            yield* Effect.logWarning("Queue: lost the connection to the broker; reconnecting").pipe(
              Effect.annotateLogs("reason", reason)
            )
          })
        ),
        Effect.tapError((error) =>
          Effect.gen(function* () {
            yield* Ref.set(link, { _tag: "Down", reason: error.reason })
            yield* Deferred.succeed(firstAttempt, undefined)
            if (!(yield* Ref.getAndSet(outage, true))) {
              yield* Effect.logWarning("Queue: cannot reach the broker; retrying in the background").pipe(
                Effect.annotateLogs("reason", error.reason)
              )
            }
          })
        ),
        Effect.retry(reconnectBackoff),
        Effect.forever,
        Effect.annotateLogs("exchange", exchange),
        Effect.forkScoped
      )

      /** Waits out the first connection attempt, so that a freshly built layer does not fail its first call. */
      const connected = Effect.gen(function* () {
        yield* Effect.timeoutOption(Deferred.await(firstAttempt), operationTimeout)
        const state = yield* Ref.get(link)
        if (state._tag === "Up") return state
        return yield* new QueueUnavailable({
          reason:
            state._tag === "Down" ? `the broker is unreachable: ${state.reason}` : "still connecting to the broker"
        })
      })

      /**
       * Adds `subscriber` to those every new connection attaches, and attaches it to the current one if the link is
       * up; `onAttachFailure` decides what a failed first attach means. Both steps and the release run under the
       * topology lock, so a reconnect never attaches a subscriber half registered or already released.
       */
      const register = <E>(
        subscriber: Subscriber,
        onAttachFailure: (error: QueueUnavailable, state: Extract<Link, { _tag: "Up" }>) => Effect.Effect<void, E>,
        release: Effect.Effect<void>
      ) =>
        Effect.acquireRelease(
          topology.withPermits(1)(
            Effect.gen(function* () {
              subscribers.add(subscriber)
              const state = yield* Ref.get(link)
              if (state._tag !== "Up") return
              yield* subscriber
                .attach(state.connection)
                .pipe(
                  Effect.catchAll((error) =>
                    Effect.tapError(onAttachFailure(error, state), () =>
                      Effect.sync(() => subscribers.delete(subscriber))
                    )
                  )
                )
            })
          ),
          () =>
            topology.withPermits(1)(
              Effect.zipRight(
                Effect.sync(() => subscribers.delete(subscriber)),
                release
              )
            )
        )

      const withChannel = <A>(use: (channel: ConfirmChannel) => Effect.Effect<A, QueueUnavailable>) =>
        Effect.flatMap(connected, ({ connection }) =>
          Effect.acquireUseRelease(openChannel(connection), use, closeQuietly)
        )

      const queueExists = (channel: Channel, queue: string) =>
        call("cannot check a queue", () => channel.checkQueue(queue)).pipe(
          Effect.as(true),
          Effect.catchIf(
            (error) => isNotFound(error.cause),
            () => Effect.succeed(false)
          )
        )

      const publish = Effect.fn("Queue.publish")(
        function* (message: OutgoingMessage) {
          const { publisher } = yield* connected
          yield* confirmedPublish(
            publisher,
            exchange,
            message.routingKey,
            Buffer.from(message.body, "utf8"),
            publishOptions(message.id, yield* withTraceparent(message.headers))
          )
        },
        Effect.timeoutFail({
          duration: operationTimeout,
          onTimeout: () => new QueueUnavailable({ reason: "publishing timed out" })
        })
      )

      const consume = Effect.fn("Queue.consume")(function* <R>(spec: ConsumerSpec<R>) {
        const queue = queueOf(spec.name)
        const deadQueue = deadQueueOf(spec.name)
        const maxAttempts = Math.max(1, spec.maxAttempts ?? 5)
        const baseDelayMillis = Duration.toMillis(Duration.decode(spec.retryBaseDelay ?? "1 second"))
        const retryDelayMillis = (attempt: number) => Math.round(baseDelayMillis * 2 ** (attempt - 1))
        // Named by delay, so that changing a consumer's retry settings never redeclares a queue with other arguments.
        const retryQueueOf = (attempt: number) => `${queue}.retry.${retryDelayMillis(attempt)}ms`

        const handlers = yield* FiberSet.make<void, never>()
        const runHandler = yield* FiberSet.runtime(handlers)<R>()
        let subscription: { readonly channel: ConfirmChannel; readonly consumerTag: string } | undefined
        let stopping = false

        const settleFailure = (
          channel: ConfirmChannel,
          message: Message,
          delivered: DeliveredMessage,
          cause: Cause.Cause<unknown>
        ) =>
          Effect.gen(function* () {
            const headers = { ...delivered.headers, [header.routingKey]: delivered.routingKey }
            if (delivered.attempt < maxAttempts) {
              yield* confirmedPublish(
                channel,
                "",
                retryQueueOf(delivered.attempt),
                message.content,
                publishOptions(delivered.id, { ...headers, [header.attempt]: delivered.attempt + 1 })
              )
            } else {
              const now = yield* Clock.currentTimeMillis
              yield* confirmedPublish(
                channel,
                "",
                deadQueue,
                message.content,
                publishOptions(delivered.id, {
                  ...headers,
                  [header.consumer]: spec.name,
                  [header.attempts]: delivered.attempt,
                  [header.error]: Cause.pretty(cause).slice(0, errorTextLimit),
                  [header.deadAt]: new Date(now).toISOString()
                })
              )
              yield* Effect.logWarning("Queue: message dead-lettered").pipe(
                Effect.annotateLogs({ consumer: spec.name, messageId: delivered.id, attempts: delivered.attempt })
              )
            }
            yield* settleQuietly(() => channel.ack(message))
          }).pipe(
            Effect.catchAll((error) =>
              Effect.zipRight(
                Effect.logWarning(
                  "Queue: cannot settle a failed delivery; the message returns to the queue",
                  error.reason
                ),
                settleQuietly(() => channel.nack(message, false, true))
              )
            ),
            Effect.uninterruptible
          )

        const deliver = (channel: ConfirmChannel, message: Message) => {
          const delivered = decode(message)
          return spec.handle(delivered).pipe(
            Effect.matchCauseEffect({
              onSuccess: () => settleQuietly(() => channel.ack(message)),
              onFailure: (cause) => settleFailure(channel, message, delivered, cause)
            }),
            Effect.withSpan("Queue.handle", {
              ...continueTrace(delivered.headers["traceparent"]),
              attributes: { consumer: spec.name, messageId: delivered.id, attempt: delivered.attempt }
            })
          )
        }

        const declare = (channel: ConfirmChannel) =>
          Effect.gen(function* () {
            yield* call("cannot set the prefetch", () => channel.prefetch(prefetch))
            yield* call("cannot declare the exchange", () =>
              channel.assertExchange(exchange, "topic", { durable: true })
            )
            yield* call("cannot declare the consumer queue", () =>
              channel.assertQueue(queue, { durable: true, arguments: { "x-queue-type": "quorum" } })
            )
            for (const routingKey of spec.routingKeys) {
              yield* call("cannot bind the consumer queue", () => channel.bindQueue(queue, exchange, routingKey))
            }
            for (let attempt = 1; attempt < maxAttempts; attempt++) {
              yield* call("cannot declare a retry queue", () =>
                channel.assertQueue(retryQueueOf(attempt), {
                  durable: true,
                  arguments: {
                    "x-queue-type": "classic",
                    "x-message-ttl": retryDelayMillis(attempt),
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": queue
                  }
                })
              )
            }
            yield* call("cannot declare the dead-letter queue", () =>
              channel.assertQueue(deadQueue, { durable: true, arguments: { "x-queue-type": "quorum" } })
            )
          })

        const attach = (connection: ChannelModel) =>
          Effect.flatMap(openChannel(connection), (channel) =>
            Effect.gen(function* () {
              yield* declare(channel)
              const { consumerTag } = yield* call("cannot start consuming", () =>
                channel.consume(queue, (message) => {
                  if (stopping) return
                  // null is the broker cancelling the consumer, e.g. because its queue was deleted.
                  if (message === null) reconnectOnLoss(connection)()
                  else runHandler(deliver(channel, message))
                })
              )
              channel.on("close", () => {
                if (!stopping) reconnectOnLoss(connection)()
              })
              subscription = { channel, consumerTag }
            }).pipe(Effect.tapError(() => closeQuietly(channel)))
          )

        yield* register(
          { attach },
          // A consumer that cannot start fails start-up, unless the connection it tried was lost meanwhile.
          (error, state) =>
            Effect.flatMap(Deferred.isDone(state.closed), (lost) => (lost ? Effect.void : Effect.fail(error))),
          Effect.gen(function* () {
            stopping = true
            if (subscription === undefined) return
            const { channel, consumerTag } = subscription
            yield* Effect.ignore(call("cannot cancel the consumer", () => channel.cancel(consumerTag)))
            yield* FiberSet.clear(handlers)
            yield* closeQuietly(channel)
          })
        )
      })

      /**
       * An exclusive, auto-deleted queue of this connection, bound to the exchange: the broker gives every such
       * queue its own copy, and drops it with the connection. A new connection declares a new one.
       */
      const subscribe = (routingKeys: ReadonlyArray<string>, backlog: number) =>
        Effect.gen(function* () {
          const inbox = yield* Effect.acquireRelease(Mailbox.sliding<DeliveredMessage>(backlog), Mailbox.shutdown)
          let current: Channel | undefined
          let stopping = false
          const attach = (connection: ChannelModel) =>
            Effect.flatMap(openChannel(connection), (channel) =>
              Effect.gen(function* () {
                yield* call("cannot declare the exchange", () =>
                  channel.assertExchange(exchange, "topic", { durable: true })
                )
                const { queue } = yield* call("cannot declare a subscription queue", () =>
                  channel.assertQueue("", { exclusive: true, autoDelete: true })
                )
                for (const routingKey of routingKeys) {
                  yield* call("cannot bind a subscription queue", () => channel.bindQueue(queue, exchange, routingKey))
                }
                yield* call("cannot start a subscription", () =>
                  channel.consume(
                    queue,
                    (message) => {
                      if (message !== null && !stopping) inbox.unsafeOffer(decode(message))
                    },
                    { noAck: true }
                  )
                )
                channel.on("close", () => {
                  if (!stopping) reconnectOnLoss(connection)()
                })
                current = channel
              }).pipe(Effect.tapError(() => closeQuietly(channel)))
            )
          yield* register(
            { attach },
            // A subscription that cannot attach to this connection gets the next one, as a lost channel does.
            (error, state) =>
              Effect.zipRight(
                Effect.logWarning("Queue: cannot subscribe; reconnecting", error.reason),
                Effect.sync(reconnectOnLoss(state.connection))
              ),
            Effect.suspend(() => {
              stopping = true
              return current === undefined ? Effect.void : closeQuietly(current)
            })
          )
          return Stream.fromQueue(inbox)
        })

      const deadLetters = Effect.fn("Queue.deadLetters")(function* (consumer: string) {
        const deadQueue = deadQueueOf(consumer)
        // Unacknowledged gets hide each message from other readers until the channel closes and returns them all.
        return yield* browsing.withPermits(1)(
          withChannel((channel) =>
            Effect.gen(function* () {
              const letters: Array<DeadLetter> = []
              if (!(yield* queueExists(channel, deadQueue))) return letters
              while (true) {
                const message = yield* call("cannot read dead letters", () => channel.get(deadQueue))
                if (message === false) return letters
                letters.push(decodeDeadLetter(message, consumer))
              }
            })
          )
        )
      })

      const replay = Effect.fn("Queue.replay")(function* (consumer: string, messageId: string) {
        const deadQueue = deadQueueOf(consumer)
        return yield* browsing.withPermits(1)(
          withChannel((channel) =>
            Effect.gen(function* () {
              if (!(yield* queueExists(channel, deadQueue))) return false
              while (true) {
                const message = yield* call("cannot read dead letters", () => channel.get(deadQueue))
                if (message === false) return false
                const letter = decodeDeadLetter(message, consumer)
                if (letter.id !== messageId) continue
                yield* confirmedPublish(
                  channel,
                  "",
                  queueOf(consumer),
                  message.content,
                  publishOptions(letter.id, { ...letter.headers, [header.routingKey]: letter.routingKey })
                )
                yield* settleQuietly(() => channel.ack(message))
                return true
              }
            })
          )
        )
      })

      const depth = Effect.fn("Queue.depth")(function* (consumer: string) {
        return yield* withChannel((channel) =>
          call("cannot check a queue", () => channel.checkQueue(queueOf(consumer))).pipe(
            Effect.map((queue) => queue.messageCount),
            Effect.catchIf(
              (error) => isNotFound(error.cause),
              () => Effect.succeed(0)
            )
          )
        )
      })

      const ping = Effect.asVoid(connected).pipe(Effect.withSpan("Queue.ping"))

      return Queue.of({ publish, consume, subscribe, deadLetters, replay, depth, ping })
    })
  )
