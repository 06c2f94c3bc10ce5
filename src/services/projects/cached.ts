import { Duration, Effect, Option } from "effect"
import { randomUUID } from "node:crypto"
import type { CacheShape } from "../../layers/cache.js"
import type { ListProjects } from "./schema.js"

/** A project as its API JSON, so a cached read is answered without decoding and encoding it again. */
export const projectKey = (id: string) => `project:${id}`
export const PROJECT_TTL = Duration.minutes(5)

/**
 * List pages are cached under a generation that every change to projects replaces with a fresh random one:
 * pages of an older generation are never read again and expire. A random value rather than a counter, so a
 * generation lost to eviction or a cache restart can never come back and revive pages cached under it.
 */
const LIST_GENERATION_KEY = "projects:list-generation"
const LIST_GENERATION_TTL = Duration.days(1)
export const LIST_PAGE_TTL = Duration.minutes(1)

/** Moves lists to a new generation: every cached page is stale from now on. Answers the new generation. */
export const forgetListPages = (cache: CacheShape) =>
  Effect.suspend(() => {
    const generation = randomUUID()
    return Effect.as(cache.set(LIST_GENERATION_KEY, generation, LIST_GENERATION_TTL), generation)
  })

export const listGeneration = (cache: CacheShape) =>
  Effect.flatMap(
    cache.get(LIST_GENERATION_KEY),
    Option.match({ onSome: Effect.succeed, onNone: () => forgetListPages(cache) })
  )

export const listPageKey = (generation: string, query: ListProjects) =>
  `projects:list:${generation}:${JSON.stringify([query.limit, query.cursor ?? null, query.ownerId ?? null, query.q ?? null])}`

/** After a commit that changed or removed these projects: their cached copies go, and every cached list page. */
export const forgetProjects = (cache: CacheShape, ids: ReadonlyArray<string>) =>
  Effect.zipRight(
    Effect.forEach(ids, (id) => cache.delete(projectKey(id)), { discard: true }),
    forgetListPages(cache)
  )
