import type { Rpc, RpcMessage } from "@effect/rpc"
import { RpcServer } from "@effect/rpc"
import { Effect, Either, ParseResult, Schema } from "effect"
import { FieldProblem, MalformedRequest, NotFound, ValidationFailed } from "../services/errors.js"

const RequestId = Schema.String.pipe(Schema.pattern(/^\d{1,39}$/))

const RequestEnvelope = Schema.Struct({
  _tag: Schema.Literal("Request"),
  id: RequestId,
  tag: Schema.String,
  payload: Schema.optional(Schema.Unknown),
  headers: Schema.Array(Schema.Tuple(Schema.String, Schema.String)),
  traceId: Schema.optional(Schema.String),
  spanId: Schema.optional(Schema.String),
  sampled: Schema.optional(Schema.Boolean)
})
const isRequestEnvelope = Schema.is(RequestEnvelope)
const isAddressed = Schema.is(Schema.Struct({ requestId: RequestId }))
const hasRequestId = Schema.is(Schema.Struct({ id: RequestId }))

const failure = <A, I>(schema: Schema.Schema<A, I>, error: A) => ({
  _tag: "Failure" as const,
  cause: { _tag: "Fail" as const, error: Schema.encodeSync(schema)(error) }
})

const fieldProblems = (error: ParseResult.ParseError) =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map(
    (issue) => new FieldProblem({ path: issue.path.map(String).join(".") || "(payload)", message: issue.message })
  )

/**
 * Checks what clients send before the RPC server sees it. The server would answer a payload that does not match
 * its schema with a defect carrying the parser's text, an unknown tag with a defect that ends every call of the
 * connection, and some malformed envelopes (a request id that is not a number, headers that are not pairs) by
 * failing the connection's fiber. Here each becomes a typed failure of that one request, as HTTP would answer it:
 * `ValidationFailed`, `NotFound` or `MalformedRequest`; a message that names no request gets the protocol's
 * `Defect` message.
 */
export const checkedProtocol = (
  protocol: RpcServer.Protocol["Type"],
  requests: ReadonlyMap<string, Rpc.AnyWithProps>
) => {
  const decoders = new Map(
    [...requests].map(([tag, rpc]) => [
      tag,
      // Payload schemas need no services (the folded group's type no longer says so); the server decodes them
      // the same way right after this check.
      Schema.decodeUnknownEither(rpc.payloadSchema as Schema.Schema<unknown, unknown>)
    ])
  )
  const answer = (clientId: number, response: RpcMessage.FromServerEncoded) => protocol.send(clientId, response)
  const exit = (clientId: number, requestId: string, exit: ReturnType<typeof failure>) =>
    answer(clientId, { _tag: "Exit", requestId, exit })
  const check = (clientId: number, message: RpcMessage.FromClientEncoded): Effect.Effect<boolean> => {
    switch (message._tag) {
      case "Request": {
        const received: unknown = message
        if (!isRequestEnvelope(received)) {
          return hasRequestId(received)
            ? Effect.as(
                exit(
                  clientId,
                  received.id,
                  failure(MalformedRequest, new MalformedRequest({ detail: "The request envelope is malformed" }))
                ),
                false
              )
            : Effect.as(answer(clientId, { _tag: "Defect", defect: "Malformed request: no valid id" }), false)
        }
        const request = received
        const decode = decoders.get(request.tag)
        if (decode === undefined) {
          return Effect.as(
            exit(clientId, request.id, failure(NotFound, new NotFound({ detail: `No RPC named ${request.tag}` }))),
            false
          )
        }
        return Either.match(decode(request.payload), {
          onRight: () => Effect.succeed(true),
          onLeft: (error) =>
            Effect.as(
              exit(
                clientId,
                request.id,
                failure(
                  ValidationFailed,
                  new ValidationFailed({
                    detail: "The payload does not match the expected schema",
                    errors: fieldProblems(error)
                  })
                )
              ),
              false
            )
        })
      }
      case "Ack":
      case "Interrupt": {
        const received: unknown = message
        return isAddressed(received)
          ? Effect.succeed(true)
          : Effect.as(answer(clientId, { _tag: "Defect", defect: "Malformed message: no valid request id" }), false)
      }
      default:
        return Effect.succeed(true)
    }
  }
  return RpcServer.Protocol.of({
    ...protocol,
    run: (handle) =>
      protocol.run((clientId, message) =>
        Effect.flatMap(check(clientId, message), (valid) => (valid ? handle(clientId, message) : Effect.void))
      )
  })
}
