import { HttpApi, HttpApiBuilder, type HttpApiGroup, OpenApi } from "@effect/platform"
import { Layer } from "effect"
import {
  InternalError,
  LengthRequired,
  MalformedRequest,
  NotFound,
  PayloadTooLarge,
  ServiceUnavailable,
  UnsupportedMediaType,
  ValidationFailed
} from "../services/errors.js"
import { API_ID } from "./api-id.js"

/**
 * The problems any endpoint may answer with, whatever its own errors. Modules build their handlers against
 * `baseApi.add(theirGroups)`, so handlers may fail with these too.
 */
export const baseApi = HttpApi.make(API_ID)
  .addError(ValidationFailed)
  .addError(MalformedRequest)
  .addError(NotFound)
  .addError(LengthRequired)
  .addError(PayloadTooLarge)
  .addError(UnsupportedMediaType)
  .addError(ServiceUnavailable)
  .addError(InternalError)
  .annotateContext(
    OpenApi.annotations({
      title: "Plinth",
      version: "0.1.0",
      description: "Accounts, projects and files over HTTP; every error is an RFC 9457 problem."
    })
  )

type BaseErrors = typeof baseApi extends HttpApi.HttpApi<string, never, infer E> ? E : never

/**
 * Which groups exist is decided at start-up by the enabled modules, so the API's static type is widened
 * here, at this single fold (ADR 0007). Typed clients use each module's own static group definitions.
 */
export type PlinthApi = HttpApi.HttpApi<typeof API_ID, HttpApiGroup.HttpApiGroup.Any, BaseErrors>

export const foldApi = (groups: ReadonlyArray<HttpApiGroup.HttpApiGroup.Any>): PlinthApi =>
  groups.reduce<PlinthApi>((api, group) => api.add(group), baseApi)

/**
 * The handler layers register the groups' routes; with the widened type the compiler cannot see that
 * they meet the groups' phantom `ApiGroup` requirements, so that part of the type is dropped here.
 */
export const apiLayer = <E, R>(api: PlinthApi, handlers: Layer.Layer<never, E, R>) =>
  HttpApiBuilder.api(api).pipe(Layer.provide(handlers)) as Layer.Layer<HttpApi.Api, E, R>
