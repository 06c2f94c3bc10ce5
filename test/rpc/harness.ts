import { FetchHttpClient, HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { Effect, Layer, Option, Redacted, type Scope } from "effect"
import { randomUUID } from "node:crypto"
import { baseApi } from "../../src/http/api.js"
import { AdminGroup, AuthGroup, SessionsGroup, UsersGroup } from "../../src/http/groups/identity.js"
import { ProjectsGroup } from "../../src/http/groups/projects.js"
import type { AppSettings } from "../../src/layers/config.js"
import { makeClient } from "../../src/rpc/client.js"
import type { Role } from "../../src/services/identity/schema.js"
import { ADMIN } from "../identity/harness.js"
import { TestServer } from "../support/server.js"

/** Every operation the parity table uses, as each transport performs it. */
export interface Operations {
  readonly register: (email: string, password: string, name: string) => Effect.Effect<AuthTokens, Tagged>
  readonly login: (email: string, password: string) => Effect.Effect<AuthTokens, Tagged>
  readonly refresh: (refreshToken: string) => Effect.Effect<AuthTokens, Tagged>
  readonly profile: (token: string | undefined) => Effect.Effect<Profile, Tagged>
  readonly updateProfile: (token: string, changes: { name?: string; email?: string }) => Effect.Effect<Profile, Tagged>
  readonly setRole: (token: string, userId: string, role: Role) => Effect.Effect<Profile, Tagged>
  readonly listUsers: (token: string) => Effect.Effect<number, Tagged>
  readonly createProject: (token: string, name: string) => Effect.Effect<ProjectView, Tagged>
  readonly getProject: (token: string, id: string) => Effect.Effect<ProjectView, Tagged>
  readonly listProjects: (token: string, ownerId: string) => Effect.Effect<ReadonlyArray<string>, Tagged>
  readonly renameProject: (token: string, id: string, name: string) => Effect.Effect<ProjectView, Tagged>
  readonly deleteProject: (token: string, id: string) => Effect.Effect<void, Tagged>
}

export interface Tagged {
  readonly _tag: string
}
export interface AuthTokens {
  readonly userId: string
  readonly email: string
  readonly accessToken: string
  readonly refreshToken: string
}
export interface Profile {
  readonly id: string
  readonly email: string
  readonly name: string
  readonly role: string
}
export interface ProjectView {
  readonly id: string
  readonly name: string
  readonly ownerId: string
}

const tokens = (auth: {
  readonly user: { readonly id: string; readonly email: string }
  readonly accessToken: string
  readonly refreshToken: string
}): AuthTokens => ({
  userId: auth.user.id,
  email: auth.user.email,
  accessToken: auth.accessToken,
  refreshToken: auth.refreshToken
})
const profileOf = (user: Profile): Profile => ({ id: user.id, email: user.email, name: user.name, role: user.role })
const projectOf = (project: ProjectView): ProjectView => ({
  id: project.id,
  name: project.name,
  ownerId: project.ownerId
})

const HttpIdentityApi = baseApi.add(AuthGroup).add(SessionsGroup).add(UsersGroup).add(AdminGroup)
const HttpProjectsApi = baseApi.add(ProjectsGroup)

/** The HTTP API through its typed client, a bearer token per call. */
export const httpOperations = (url: string) =>
  Effect.gen(function* () {
    const http = yield* HttpClient.HttpClient
    const authorized = (token: string | undefined) => (client: HttpClient.HttpClient) =>
      token === undefined ? client : HttpClient.mapRequest(client, HttpClientRequest.bearerToken(token))
    const identity = (token?: string) =>
      HttpApiClient.make(HttpIdentityApi, { baseUrl: url, transformClient: authorized(token) }).pipe(
        Effect.provideService(HttpClient.HttpClient, http)
      )
    const projects = (token: string) =>
      HttpApiClient.make(HttpProjectsApi, { baseUrl: url, transformClient: authorized(token) }).pipe(
        Effect.provideService(HttpClient.HttpClient, http)
      )
    return {
      register: (email, password, name) =>
        Effect.flatMap(identity(), (c) =>
          c.auth.register({ payload: { email, password: Redacted.make(password), name } })
        ).pipe(Effect.map(tokens)),
      login: (email, password) =>
        Effect.flatMap(identity(), (c) => c.auth.login({ payload: { email, password: Redacted.make(password) } })).pipe(
          Effect.map(tokens)
        ),
      refresh: (refreshToken) =>
        Effect.flatMap(identity(), (c) => c.auth.refresh({ payload: { refreshToken } })).pipe(Effect.map(tokens)),
      profile: (token) => Effect.flatMap(identity(token), (c) => c.users.profile()).pipe(Effect.map(profileOf)),
      updateProfile: (token, changes) =>
        Effect.flatMap(identity(token), (c) => c.users.updateProfile({ payload: changes })).pipe(Effect.map(profileOf)),
      setRole: (token, id, role) =>
        Effect.flatMap(identity(token), (c) => c.admin.updateUser({ path: { id }, payload: { role } })).pipe(
          Effect.map(profileOf)
        ),
      listUsers: (token) =>
        Effect.flatMap(identity(token), (c) => c.admin.listUsers({ urlParams: { limit: 20 } })).pipe(
          Effect.map((page) => page.items.length)
        ),
      createProject: (token, name) =>
        Effect.flatMap(projects(token), (c) => c.projects.create({ payload: { name } })).pipe(Effect.map(projectOf)),
      getProject: (token, id) =>
        Effect.flatMap(projects(token), (c) => c.projects.get({ path: { id } })).pipe(Effect.map(projectOf)),
      listProjects: (token, ownerId) =>
        Effect.flatMap(projects(token), (c) => c.projects.list({ urlParams: { limit: 20, ownerId } })).pipe(
          Effect.map((page) => page.items.map((project) => project.name))
        ),
      renameProject: (token, id, name) =>
        Effect.flatMap(projects(token), (c) => c.projects.update({ path: { id }, payload: { name } })).pipe(
          Effect.map(projectOf)
        ),
      deleteProject: (token, id) => Effect.flatMap(projects(token), (c) => c.projects.delete({ path: { id } }))
    } satisfies Operations
  })

const bearer = (token: string | undefined) => ({
  headers: token === undefined ? {} : { authorization: `Bearer ${token}` }
})

/** The RPC server through `plinth/client`, over one connection; the token travels in each call's headers. */
export const rpcOperations = (url: string, transport: "http" | "websocket") =>
  Effect.map(
    makeClient({ url, transport }),
    (c) =>
      ({
        register: (email, password, name) =>
          Effect.map(c.auth.register({ email, password: Redacted.make(password), name }), tokens),
        login: (email, password) => Effect.map(c.auth.login({ email, password: Redacted.make(password) }), tokens),
        refresh: (refreshToken) => Effect.map(c.auth.refresh({ refreshToken }), tokens),
        profile: (token) => Effect.map(c.profile.get(undefined, bearer(token)), profileOf),
        updateProfile: (token, changes) => Effect.map(c.profile.update(changes, bearer(token)), profileOf),
        setRole: (token, id, role) => Effect.map(c.admin.updateUser({ id, role }, bearer(token)), profileOf),
        listUsers: (token) => Effect.map(c.admin.listUsers({ limit: 20 }, bearer(token)), (page) => page.items.length),
        createProject: (token, name) => Effect.map(c.projects.create({ name }, bearer(token)), projectOf),
        getProject: (token, id) => Effect.map(c.projects.get({ id }, bearer(token)), projectOf),
        listProjects: (token, ownerId) =>
          Effect.map(c.projects.list({ limit: 20, ownerId }, bearer(token)), (page) =>
            page.items.map((project) => project.name)
          ),
        renameProject: (token, id, name) => Effect.map(c.projects.update({ id, name }, bearer(token)), projectOf),
        deleteProject: (token, id) => c.projects.delete({ id }, bearer(token))
      }) satisfies Operations
  )

export const uniqueEmail = (label: string) => `${label}-${randomUUID().slice(0, 12)}@example.com`

/** The whole program with the bootstrap admin, plus an HttpClient for the test. */
export const rpcServer = (overrides: Partial<AppSettings> = {}) =>
  TestServer.layer({
    admin: Option.some({ email: ADMIN.email, password: Redacted.make(ADMIN.password) }),
    ...overrides
  }).pipe(Layer.merge(FetchHttpClient.layer))

export type Transport = "http api" | "rpc over http" | "rpc over websocket"

export const operationsFor = (
  transport: Transport,
  url: string
): Effect.Effect<Operations, never, Scope.Scope | HttpClient.HttpClient> =>
  transport === "http api"
    ? httpOperations(url)
    : rpcOperations(url, transport === "rpc over http" ? "http" : "websocket")
