import { HttpApiError, HttpServerError, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { SqlError } from "@effect/sql/SqlError"
import { Cause, Effect, Option, Predicate } from "effect"
import { QueueUnavailable } from "../../layers/queue.js"
import { StorageUnavailable } from "../../layers/storage.js"
import {
  FieldProblem,
  InternalError,
  MalformedRequest,
  NotFound,
  ServiceUnavailable,
  ValidationFailed
} from "../../services/errors.js"

/**
 * Any tagged error class with the problem fields is a problem, whichever module defines it. Its fields are
 * plain JSON values by construction, so its own properties are the body, extension members included.
 */
export interface ProblemLike {
  readonly _tag: string
  readonly type: string
  readonly title: string
  readonly status: number
  readonly detail: string
  readonly retryAfter?: number
}

const isProblemLike = (error: unknown): error is ProblemLike =>
  Predicate.isRecord(error) &&
  typeof error["_tag"] === "string" &&
  typeof error["type"] === "string" &&
  typeof error["title"] === "string" &&
  typeof error["status"] === "number" &&
  typeof error["detail"] === "string"

/** Seconds a client should wait before retrying while a backing service is down. */
export const UNAVAILABLE_RETRY_AFTER = 5

export const problemResponse = (problem: ProblemLike, instance?: string) => {
  const body = { ...problem, ...(instance === undefined ? {} : { instance }) }
  const headers: Record<string, string> = {}
  if (problem.status === 401) headers["www-authenticate"] = 'Bearer realm="plinth"'
  if (typeof problem.retryAfter === "number") headers["retry-after"] = String(problem.retryAfter)
  return HttpServerResponse.unsafeJson(body, {
    status: problem.status,
    headers,
    contentType: "application/problem+json"
  })
}

/** A backing service (database, queue, storage) that could not be reached: a 503, never a 500. */
export const isBackendDown = (error: unknown): boolean =>
  error instanceof QueueUnavailable || error instanceof StorageUnavailable || isConnectionFailure(error)

/**
 * A SqlError whose cause is a failed connection is an outage (503); any other SqlError is a bug in our SQL
 * and stays a 500. PostgreSQL class 08 is connection exceptions, 57P0x the server shutting down.
 */
const isConnectionFailure = (error: unknown): boolean => {
  if (!(error instanceof SqlError)) return false
  const cause = error.cause
  if (!Predicate.isRecord(cause)) return error.message.startsWith("Failed to acquire connection")
  const code = typeof cause["code"] === "string" ? cause["code"] : ""
  return (
    code.startsWith("08") ||
    code.startsWith("57P0") ||
    ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH"].includes(code) ||
    error.message.startsWith("Failed to acquire connection") ||
    /timeout exceeded when trying to connect|Connection terminated/i.test(String(cause["message"] ?? ""))
  )
}

const fieldProblems = (error: HttpApiError.HttpApiDecodeError) =>
  error.issues.map(
    (issue) => new FieldProblem({ path: issue.path.map(String).join(".") || "(body)", message: issue.message })
  )

/** Turns whatever a request failed with into the problem a client sees; None means "not ours to answer". */
export const toProblem = (cause: Cause.Cause<unknown>): Option.Option<ProblemLike> => {
  const failure = Cause.failureOption(cause)
  const error = Option.isSome(failure) ? failure.value : Option.getOrUndefined(Cause.dieOption(cause))
  if (error === undefined) return Option.none()
  if (isProblemLike(error)) return Option.some(error)
  if (error instanceof HttpApiError.HttpApiDecodeError) {
    return Option.some(
      new ValidationFailed({ detail: "The request does not match the expected schema", errors: fieldProblems(error) })
    )
  }
  if (error instanceof HttpServerError.RouteNotFound) {
    return Option.some(new NotFound({ detail: `No resource at ${error.request.method} ${error.request.url}` }))
  }
  if (error instanceof HttpServerError.RequestError && error.reason === "Decode") {
    return Option.some(new MalformedRequest({ detail: "The request body could not be parsed as JSON" }))
  }
  if (isBackendDown(error)) {
    return Option.some(
      new ServiceUnavailable({
        detail: "A backing service is unavailable; retry later",
        retryAfter: UNAVAILABLE_RETRY_AFTER
      })
    )
  }
  return Option.none()
}

/**
 * Answers every failure of a request as problem+json. Unknown failures and defects are logged with their
 * cause (and so their trace id) and answered with a bare 500 that says nothing of the internals.
 */
export const withProblems = <E, R>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  Effect.catchAllCause(app, (cause) =>
    Effect.gen(function* () {
      if (Cause.isInterruptedOnly(cause)) return yield* Effect.failCause(cause)
      const request = yield* HttpServerRequest.HttpServerRequest
      const instance = new URL(request.url, "http://plinth").pathname
      const problem = toProblem(cause)
      if (Option.isSome(problem)) {
        if (problem.value.status >= 500) yield* Effect.logWarning("Request failed: backing service down", cause)
        return problemResponse(problem.value, instance)
      }
      yield* Effect.logError("Request failed with an unexpected error", cause)
      return problemResponse(new InternalError({ detail: "An unexpected error occurred" }), instance)
    })
  )
