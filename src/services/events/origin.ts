import { FiberRef, Option } from "effect"

/** Where the request that caused a change came from; events recorded while serving it carry it. */
export interface RequestOrigin {
  readonly ip: string | null
  readonly requestId: string
}

/** Set by the HTTP transport around each request; none for the worker and start-up. */
export const currentOrigin: FiberRef.FiberRef<Option.Option<RequestOrigin>> = FiberRef.unsafeMake(
  Option.none<RequestOrigin>()
)
