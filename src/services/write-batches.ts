import { Array as Arr, Deferred, Effect, Exit, Option, Runtime, type Tracer } from "effect"

interface Pending<I, A> {
  readonly item: I
  readonly done: Deferred.Deferred<A>
  readonly span: Option.Option<Tracer.Span>
}

export interface WriteBatchesOptions<I, A> {
  /**
   * Writes the items in one statement and answers one result per item, in the items' order; an item left
   * without one is a defect for its caller. When a batch fails, each item is written again on its own: a write
   * must be safe to repeat (keyed by ids the caller chose), since a statement whose answer was lost may have
   * committed.
   */
  readonly write: (items: Arr.NonEmptyReadonlyArray<I>) => Effect.Effect<ReadonlyArray<A | undefined>>
  readonly maxBatchSize: number
  /** The span of each statement, linked to the spans of the requests it answers. */
  readonly spanName: string
}

/**
 * Resumes once the I/O callbacks already due have run (`setImmediate`), so requests that arrived with the first
 * item join its batch. Waiting on the fiber scheduler is not enough: it runs before them, and an embedded
 * database that executes on this thread would then take every item alone.
 */
const afterPendingIo = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/**
 * Group commit. Concurrent callers' items wait in a queue while one statement is in flight; the next statement
 * writes everything that queued meanwhile. A lone caller waits only for the I/O already due; under load the fixed cost
 * of a statement (a round trip, a commit, its share of the runtime) is paid once per batch rather than per item.
 * One writer: with two or four, batches were smaller and creation slower under load.
 *
 * A caller is answered only once its own item is committed. A statement that fails for the batch is retried item
 * by item, so a bad item fails only its own caller. A caller interrupted while it waits may still see its item
 * written, as a statement already sent would be.
 *
 * Written here rather than with `@effect/experimental`'s `dataLoader`, which gathers by time window: it delays
 * every write by the window even when the database is idle, and sizes batches by the window rather than by how
 * long the previous statement took (see ADR 0020).
 */
export const makeWriteBatches = <I, A>(
  options: WriteBatchesOptions<I, A>
): Effect.Effect<(item: I) => Effect.Effect<A>> =>
  Effect.map(Effect.runtime<never>(), (runtime) => {
    const answered = (pending: Pending<I, A>, result: A | undefined) =>
      Deferred.done(
        pending.done,
        result === undefined
          ? Exit.die(new Error(`${options.spanName}: the write answered no result`))
          : Exit.succeed(result)
      )

    const writeAlone = (pending: Pending<I, A>) =>
      Effect.flatMap(Effect.exit(options.write([pending.item])), (exit) =>
        Exit.isSuccess(exit) ? answered(pending, exit.value[0]) : Deferred.failCause(pending.done, exit.cause)
      )

    const writeBatch = (batch: Arr.NonEmptyReadonlyArray<Pending<I, A>>) =>
      Effect.flatMap(Effect.exit(options.write(Arr.map(batch, (pending) => pending.item))), (exit) =>
        Exit.isSuccess(exit)
          ? Effect.forEach(batch, (pending, i) => answered(pending, exit.value[i]), { discard: true })
          : batch.length === 1
            ? Deferred.failCause(batch[0].done, exit.cause)
            : Effect.forEach(batch, writeAlone, { discard: true })
      ).pipe(
        Effect.withSpan(options.spanName, {
          attributes: { "batch.size": batch.length },
          links: batch.flatMap((pending) =>
            Option.match(pending.span, {
              onNone: () => [],
              onSome: (span) => [{ _tag: "SpanLink" as const, span, attributes: {} }]
            })
          )
        })
      )

    const queued: Array<Pending<I, A>> = []
    let writing = false
    const drain: Effect.Effect<void> = Effect.zipRight(
      afterPendingIo,
      Effect.suspend(() => {
        const batch = queued.splice(0, options.maxBatchSize)
        return Arr.isNonEmptyArray(batch) ? Effect.zipRight(writeBatch(batch), drain) : Effect.void
      })
    )
    // The writer runs only while items wait, in the runtime the service was built in rather than in the first
    // caller's fiber: its span is no request's child. It holds no resource, so a server that finishes its
    // requests in flight while shutting down finishes their writes too, whatever order its layers close in.
    const startWriter = (): void => {
      writing = true
      Runtime.runFork(runtime)(
        Effect.ensuring(
          Effect.uninterruptible(drain),
          Effect.sync(() => {
            writing = false
            if (queued.length > 0) startWriter()
          })
        )
      )
    }

    return (item: I) =>
      Effect.flatMap(Effect.all([Deferred.make<A>(), Effect.option(Effect.currentSpan)]), ([done, span]) =>
        Effect.zipRight(
          Effect.sync(() => {
            queued.push({ item, done, span })
            if (!writing) startWriter()
          }),
          Deferred.await(done)
        )
      )
  })
