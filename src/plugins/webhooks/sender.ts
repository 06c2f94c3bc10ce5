import { Data, Duration, Effect } from "effect"
import { request as httpRequest } from "node:http"
import { request as httpsRequest } from "node:https"
import { guardedLookup, type TargetPolicy, urlProblem } from "./targets.js"

export class SendFailed extends Data.TaggedError("SendFailed")<{
  readonly reason: string
  readonly statusCode: number | null
}> {
  override get message() {
    return this.reason
  }
}

/** The response body is not kept; only this much of it is read, for the delivery log's error text. */
const RESPONSE_SNIPPET = 200

/**
 * POSTs the body and succeeds with the status of a 2xx answer. Redirects are not followed (they could lead
 * anywhere); the connection goes through `guardedLookup`, so no private address is reached however the
 * name resolves by then.
 */
export const send = (
  url: string,
  headers: Readonly<Record<string, string>>,
  body: string,
  policy: TargetPolicy,
  timeout: Duration.Duration
) =>
  Effect.async<number, SendFailed>((resume, signal) => {
    const problem = urlProblem(url, policy)
    if (problem !== undefined) {
      resume(Effect.fail(new SendFailed({ reason: `the URL ${problem}`, statusCode: null })))
      return
    }
    const target = new URL(url)
    const request = (target.protocol === "https:" ? httpsRequest : httpRequest)(
      target,
      {
        method: "POST",
        headers: {
          ...headers,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body).toString(),
          "user-agent": "Plinth-Webhooks/1.0"
        },
        lookup: guardedLookup(policy),
        timeout: Duration.toMillis(timeout),
        signal
      },
      (response) => {
        const status = response.statusCode ?? 0
        let snippet = ""
        response.setEncoding("utf8")
        response.on("data", (chunk: string) => {
          if (snippet.length < RESPONSE_SNIPPET) snippet += chunk.slice(0, RESPONSE_SNIPPET - snippet.length)
        })
        response.on("error", () => {})
        response.on("end", () =>
          resume(
            status >= 200 && status < 300
              ? Effect.succeed(status)
              : Effect.fail(
                  new SendFailed({
                    reason: `answered ${status}${snippet === "" ? "" : `: ${snippet}`}`,
                    statusCode: status
                  })
                )
          )
        )
      }
    )
    request.on("timeout", () => request.destroy(new Error(`no answer within ${Duration.format(timeout)}`)))
    request.on("error", (error) => resume(Effect.fail(new SendFailed({ reason: error.message, statusCode: null }))))
    request.end(body)
  })
