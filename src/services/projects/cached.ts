import { Duration, Effect, Option } from "effect"
import { randomUUID } from "node:crypto"
import type { CacheShape } from "../../layers/cache.js"
import type { ListProjects } from "./schema.js"

/** A project as its API JSON, so a cached read is answered without decoding and encoding it again. */
export const projectKey = (id: string) => `project:${id}`
export const PROJECT_TTL = Duration.minutes(5)

/**
 * List pages are cached by query, each tagged with the list generation it was read under. Every change to
 * projects replaces the generation with a fresh random one, so a page tagged with an older one is never served
 * again. A random value rather than a counter, so a generation lost to eviction or a cache restart can never
 * come back and revive pages cached under it. The generation and the page are read together, in one round trip;
 * their keys share a hash tag, so Redis Cluster keeps them in one slot.
 */
const LIST_KEYS = "{projects:list}"
const LIST_GENERATION_KEY = `${LIST_KEYS}:generation`
const LIST_GENERATION_TTL = Duration.days(1)
const LIST_PAGE_TTL = Duration.minutes(1)

/** Moves lists to a new generation: every cached page is stale from now on. Answers the new generation. */
export const forgetListPages = (cache: CacheShape) =>
  Effect.suspend(() => {
    const generation = randomUUID()
    return Effect.as(cache.set(LIST_GENERATION_KEY, generation, LIST_GENERATION_TTL), generation)
  })

const listPageKey = (query: ListProjects) =>
  `${LIST_KEYS}:page:${JSON.stringify([query.limit, query.cursor ?? null, query.ownerId ?? null, query.q ?? null])}`

/** The page for `query` as the current generation cached it, or else what `load` yields, cached under it. */
export const readListPage = <E, R>(cache: CacheShape, query: ListProjects, load: () => Effect.Effect<string, E, R>) =>
  Effect.flatMap(
    cache.getMany([LIST_GENERATION_KEY, listPageKey(query)]),
    ([generation = Option.none(), page = Option.none()]) => {
      if (Option.isSome(generation) && Option.isSome(page)) {
        const tagEnd = page.value.indexOf("\n")
        if (page.value.slice(0, tagEnd) === generation.value) return Effect.succeed(page.value.slice(tagEnd + 1))
      }
      return Effect.flatMap(
        Option.isSome(generation) ? Effect.succeed(generation.value) : forgetListPages(cache),
        (tag) => Effect.tap(load(), (json) => cache.set(listPageKey(query), `${tag}\n${json}`, LIST_PAGE_TTL))
      )
    }
  )

/** After a commit that changed or removed these projects: their cached copies go, and every cached list page. */
export const forgetProjects = (cache: CacheShape, ids: ReadonlyArray<string>) =>
  Effect.zipRight(
    Effect.forEach(ids, (id) => cache.delete(projectKey(id)), { discard: true }),
    forgetListPages(cache)
  )
