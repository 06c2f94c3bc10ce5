import { Effect, Option, Schema } from "effect"
import { FieldProblem, ValidationFailed } from "./errors.js"

/**
 * Keyset pages over (created_at, id), newest first. The cursor is the last row's position, opaque to clients;
 * the timestamp travels as PostgreSQL's own text so no microseconds are lost between pages.
 */
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?[+-]\d{2}(:\d{2}){0,2}$/

/** A `timestamptz` as PostgreSQL prints it; anything else would reach the query's cast and fail there with a 500. */
const isTimestampText = (text: string) => {
  const [, year, month, day, hour, minute, second] = (TIMESTAMP.exec(text) ?? []).map(Number)
  if (year === undefined || month === undefined || day === undefined) return false
  const date = new Date(Date.UTC(year, month - 1, day))
  return (
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    (hour ?? 24) < 24 &&
    (minute ?? 60) < 60 &&
    (second ?? 60) < 60
  )
}

const Cursor = Schema.compose(
  Schema.StringFromBase64Url,
  Schema.parseJson(Schema.Tuple(Schema.String.pipe(Schema.filter(isTimestampText)), Schema.UUID))
)
const decode = Schema.decodeUnknownOption(Cursor)

export const encodeCursor = Schema.encodeSync(Cursor)

export const invalidCursor = new ValidationFailed({
  detail: "The cursor is not one this server issued",
  errors: [new FieldProblem({ path: "cursor", message: "is invalid" })]
})

/** None when no cursor was given; fails when one was given that this server did not issue. */
export const decodeCursor = (
  cursor: string | undefined
): Effect.Effect<Option.Option<readonly [string, string]>, ValidationFailed> => {
  if (cursor === undefined) return Effect.succeed(Option.none())
  const position = decode(cursor)
  return Option.isSome(position) ? Effect.succeed(position) : Effect.fail(invalidCursor)
}

/** Page of `limit` rows from `limit + 1` fetched: the extra row says whether another page follows. */
export const pageOf = <Row extends { readonly id: string; readonly cursorAt: string }>(
  rows: ReadonlyArray<Row>,
  limit: number
) => {
  const page = rows.slice(0, limit)
  const last = page[page.length - 1]
  return {
    page,
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor([last.cursorAt, last.id]) : null
  }
}

export const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, "\\$&")}%`

export const PageLimit = Schema.NumberFromString.pipe(
  Schema.int(),
  Schema.between(1, 100, { message: () => "must be an integer from 1 to 100" })
)
