import ipaddr from "ipaddr.js"
import { lookup, type LookupAddress, type LookupOptions } from "node:dns"
import { isIP } from "node:net"
import { Effect } from "effect"

/**
 * Only public unicast addresses are reachable: loopback, private, link-local (cloud metadata), unique-local,
 * carrier-grade NAT, multicast and reserved ranges are not, nor IPv6 forms that embed an IPv4 address.
 */
const isPublicAddress = (address: string) => {
  if (!ipaddr.isValid(address)) return false
  return ipaddr.process(address).range() === "unicast"
}

export interface TargetPolicy {
  /** Development and tests only: private and loopback targets, and plain http, are accepted. */
  readonly allowPrivate: boolean
}

/** Why the URL may not be a webhook target, or undefined when it may (before its name is resolved). */
export const urlProblem = (raw: string, policy: TargetPolicy): string | undefined => {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return "must be an absolute URL"
  }
  if (url.protocol !== "https:" && !(policy.allowPrivate && url.protocol === "http:")) return "must use https"
  if (url.username !== "" || url.password !== "") return "must not contain credentials"
  const host = url.hostname.replace(/^\[|\]$/g, "")
  if (isIP(host) !== 0 && !policy.allowPrivate && !isPublicAddress(host)) {
    return "must not point at a loopback, private or link-local address"
  }
  return undefined
}

const resolveAll = (host: string) =>
  Effect.async<ReadonlyArray<LookupAddress>, Error>((resume) => {
    lookup(host, { all: true }, (error, addresses) => resume(error ? Effect.fail(error) : Effect.succeed(addresses)))
  })

/** The URL's problem, once its host name is resolved too: every address it resolves to must be allowed. */
export const targetProblem = (raw: string, policy: TargetPolicy) =>
  Effect.gen(function* () {
    const problem = urlProblem(raw, policy)
    if (problem !== undefined || policy.allowPrivate) return problem
    const host = new URL(raw).hostname.replace(/^\[|\]$/g, "")
    if (isIP(host) !== 0) return undefined
    const resolved = yield* Effect.either(resolveAll(host))
    if (resolved._tag === "Left") return `host ${host} cannot be resolved`
    return resolved.right.every((entry) => isPublicAddress(entry.address))
      ? undefined
      : "must not resolve to a loopback, private or link-local address"
  })

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | Array<LookupAddress>,
  family?: number
) => void

/**
 * A `lookup` for the HTTP client that refuses private answers at connection time, so a name that resolved to a
 * public address when checked cannot rebind to a private one when connected (DNS rebinding).
 */
export const guardedLookup =
  (policy: TargetPolicy) => (hostname: string, options: LookupOptions, callback: LookupCallback) => {
    lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, [])
      const refused = addresses.find((entry) => !policy.allowPrivate && !isPublicAddress(entry.address))
      if (refused !== undefined) {
        const denied: NodeJS.ErrnoException = new Error(
          `${hostname} resolves to ${refused.address}, which webhooks may not reach`
        )
        denied.code = "EADDRNOTALLOWED"
        return callback(denied, [])
      }
      if (options.all === true) return callback(null, addresses)
      const first = addresses[0]
      if (first === undefined) return callback(new Error(`${hostname} has no address`), [])
      return callback(null, first.address, first.family)
    })
  }
